// ort_bench.mjs — median latency of an ONNX model in ONNX Runtime (onnxruntime-node), for
// bench/compare.py.
//
//   node ort_bench.mjs MODEL.onnx N C H W THREADS RUNS WARMUP MAX_SECONDS
//
// Prints one JSON line: {"median_ms", "min_ms", "runs", "cpu_median_ms", "ort_version"} (wall clock;
// cpu_median_ms: process CPU time, user + system). Input: a fixed
// pseudo-random float32 NCHW batch. graphOptimizationLevel 'all' (ORT fuses QuantizeLinear /
// DequantizeLinear pairs into its integer kernels), intraOpNumThreads = THREADS, sequential
// execution. onnxruntime-node is found through NODE_PATH (installed outside the repository with
// `npm install --ignore-scripts onnxruntime-node`, e.g. into /work/cache/ort).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node");

const a = process.argv.slice(2);
if (a.length < 9) {
  console.error("usage: node ort_bench.mjs MODEL.onnx N C H W THREADS RUNS WARMUP MAX_SECONDS");
  process.exit(2);
}
const [model, n, c, h, w, threads, runs, warmup, maxSeconds] = [a[0], ...a.slice(1, 8).map(Number), Number(a[8])];
const session = await ort.InferenceSession.create(model, {
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
});
const count = n * c * h * w;
const data = new Float32Array(count);
let seed = 12345;
for (let i = 0; i < count; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  data[i] = ((seed >>> 16) % 2001 - 1000) / 500;
}
const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, [n, c, h, w]) };
for (let i = 0; i < warmup; i++) await session.run(feeds);
const times = [];
const cpu = [];
const start = process.hrtime.bigint();
while (times.length < runs) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await session.run(feeds);
  const c = process.cpuUsage(c0);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  cpu.push((c.user + c.system) / 1e3);
  if (times.length >= 3 && Number(process.hrtime.bigint() - start) / 1e9 > maxSeconds) break;
}
const med = (v) => {
  const s = [...v].sort((x, y) => x - y);
  const k = s.length;
  return k % 2 ? s[(k - 1) / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
};
const m = times.length;
const median = med(times);
const cpuMedian = med(cpu);
times.sort((x, y) => x - y);
let version = "?";
try {
  version = require("onnxruntime-node/package.json").version;
} catch (e) {
  version = "?";
}
console.log(JSON.stringify({ median_ms: median, min_ms: times[0], runs: m, cpu_median_ms: cpuMedian, ort_version: version }));
