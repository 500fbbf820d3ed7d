/**
 * TFLite models on LiteRT's WebAssembly CPU build, behind the same session port as onnxruntime.
 *
 * @example
 *   const factory = createLiteRtSessionFactory();
 *   const session = await factory.create({ modelPath: '/models/face.tflite', ep: 'cpu', options: { intraOpNumThreads: 1 } });
 *   const { outputs } = await session.run([{ name: 'input', datatype: 'FP32', shape: [1, 128, 128, 3], data }]);
 *   await session.release();
 */
export { createLiteRtSessionFactory, type LiteRtSessionFactory, type LiteRtSessionFactoryOptions } from './litert-session-factory.js';
export { liteRtInfo, type LiteRtBuild } from './load-litert.js';
