import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import type { TokenService } from '../../auth/token-service.js';
import type { CommandSender } from '../../devices/command-sender.js';
import type { DesiredStatePublisher } from '../../devices/desired-state-publisher.js';
import type { DeviceRegistry } from '../../registry/device-registry.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import type { Store } from '../../store/store.js';

/** What the core routes need; handed over by createControlPlane. */
export interface ApiServices {
  store: Store;
  devices: DeviceRegistry;
  models: ModelRegistry;
  tokens: TokenService;
  desired: DesiredStatePublisher;
  artifacts: ArtifactStore;
  commands: CommandSender;
}
