/** Terminal output of the demo: timestamped steps, and rollout progress printed when it changes. */
import type { RolloutView } from '@edgefleet/shared';

export interface Progress {
  step(message: string): void;
  detail(message: string): void;
  /** Prints the rollout's state, waves and device counts when any of them changed since the last call. */
  rollout(label: string, view: RolloutView): void;
  elapsedMs(): number;
}

const COUNT_ORDER = ['pending', 'notified', 'downloading', 'installing', 'baking', 'succeeded', 'failed', 'rolled-back', 'skipped'];

export function formatCounts(counts: Record<string, number>): string {
  const keys = Object.keys(counts).sort((a, b) => COUNT_ORDER.indexOf(a) - COUNT_ORDER.indexOf(b));
  return keys.filter((k) => (counts[k] ?? 0) > 0).map((k) => `${k} ${counts[k]}`).join(', ') || 'no devices yet';
}

export function createProgress(options: { write: (text: string) => void; color: boolean; now?: () => number }): Progress {
  const now = options.now ?? Date.now;
  const start = now();
  const paint = (code: string, text: string): string => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const stamp = (): string => paint('2', `[${((now() - start) / 1000).toFixed(1).padStart(5)}s]`);
  const last = new Map<string, string>();
  return {
    step(message) {
      options.write(`${stamp()} ${paint('1', message)}\n`);
    },
    detail(message) {
      options.write(`        ${message}\n`);
    },
    rollout(label, view) {
      const waves = view.waves.map((w) => `w${w.index + 1}:${w.state}`).join(' ');
      const line = `${label} ${view.state} | ${waves} | ${formatCounts(view.counts)}`;
      if (last.get(view.id) === line) return;
      last.set(view.id, line);
      const state = view.state === 'succeeded' ? paint('32', view.state) : ['halted', 'rolled-back', 'aborted'].includes(view.state) ? paint('33', view.state) : view.state;
      options.write(`${stamp()} ${label} ${state}  ${paint('2', waves)}  ${formatCounts(view.counts)}\n`);
    },
    elapsedMs: () => now() - start,
  };
}
