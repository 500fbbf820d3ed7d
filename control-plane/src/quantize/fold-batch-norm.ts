import { attrFloat, consumerCounts, dims, floatTensor, graphOf, initializerMap, pruneInitializers, readFloats, type ModelProto, type NodeProto } from './onnx-graph.js';

/**
 * Folds each BatchNormalization that follows a Conv with constant weights into the Conv
 * (W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β). onnxruntime does this itself
 * for float graphs, but not once the weight is behind a DequantizeLinear, so the int8 rewrites fold
 * first: the quantized weight is then the one the model really uses. Returns how many were folded.
 */
export function foldBatchNorms(model: ModelProto): number {
  const graph = graphOf(model);
  const inits = initializerMap(graph);
  const consumers = consumerCounts(graph);
  const producer = new Map<string, NodeProto>();
  for (const n of graph.node) for (const o of n.output ?? []) producer.set(o, n);
  const removed = new Set<NodeProto>();
  let folded = 0;
  for (const bn of graph.node) {
    if (bn.opType !== 'BatchNormalization' || (bn.output ?? []).filter(Boolean).length !== 1) continue;
    const [x, scaleName, biasName, meanName, varName] = bn.input ?? [];
    const conv = producer.get(x ?? '');
    if (!conv || conv.opType !== 'Conv' || consumers.get(x ?? '') !== 1) continue;
    const w = inits.get(conv.input?.[1] ?? '');
    const params = [scaleName, biasName, meanName, varName].map((n) => inits.get(n ?? ''));
    if (!w || params.some((p) => !p)) continue;
    const [gamma, beta, mean, variance] = params.map((p) => readFloats(p!)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const wDims = dims(w);
    const channels = wDims[0] ?? 0;
    if (gamma.length !== channels) continue;
    const weights = readFloats(w);
    const perChannel = weights.length / channels;
    const oldBias = conv.input?.[2] ? inits.get(conv.input[2]) : undefined;
    if (conv.input?.[2] && !oldBias) continue;
    const bias = oldBias ? readFloats(oldBias) : new Float32Array(channels);
    const newW = new Float32Array(weights.length);
    const newB = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const k = gamma[c]! / Math.sqrt(variance[c]! + eps);
      for (let i = 0; i < perChannel; i++) newW[c * perChannel + i] = weights[c * perChannel + i]! * k;
      newB[c] = (bias[c]! - mean[c]!) * k + beta[c]!;
    }
    const wName = `${w.name}_bnfolded`;
    const bName = `${bn.output?.[0]}_bias_bnfolded`;
    graph.initializer.push(floatTensor(wName, wDims, newW), floatTensor(bName, [channels], newB));
    conv.input = [conv.input?.[0] ?? '', wName, bName];
    conv.output = [bn.output?.[0] ?? ''];
    removed.add(bn);
    folded++;
  }
  graph.node = graph.node.filter((n) => !removed.has(n));
  pruneInitializers(graph);
  return folded;
}
