/**
 * Model variants made on the control plane, in TypeScript on the ONNX graph (issue 19):
 * dynamic INT8, static INT8 (QDQ, MinMax calibration), FP16, and the accuracy check that compares a
 * variant with its float32 original under onnxruntime-node.
 *
 * @example
 *   const { bytes } = await quantizeStaticInt8(fp32, { samples: [{ x: new ort.Tensor('float32', data, [1, 3, 48, 192]) }] });
 *   const report = await checkAccuracy(fp32, bytes, samples);
 *   if (thresholdFailures(report, DEFAULT_ACCURACY_THRESHOLDS).length) …
 */
export { quantizeDynamicInt8, type DynamicInt8Options, type RewriteReport } from './dynamic-int8.js';
export { quantizeStaticInt8, type StaticInt8Options, type StaticRewriteReport } from './static-int8.js';
export { convertToFp16, FP16_KEEP_FLOAT32 } from './fp16.js';
export { calibrate, type CalibrationMethod, type Feeds, type TensorRange } from './calibrate.js';
export { checkAccuracy, thresholdFailures, DEFAULT_ACCURACY_THRESHOLDS, type AccuracyReport, type AccuracyThresholds } from './accuracy-check.js';
export { feedsFromRequest, jitteredCopies } from './samples.js';
export { QUANTIZED_OPSET, OLDEST_UPGRADABLE_OPSET } from './opset-upgrade.js';
