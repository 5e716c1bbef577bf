"""The OpenVINO graphs of unikeras's compiled models beside `ov.convert_model`'s of the torch twin.

For bench/layers.py's CNN and LSTM it prints, per network, the node types of both compiled
(runtime) graphs that differ in count, and the latency at batch 1 and 128 of three calls run
interleaved in one process (order flipped every round, medians of per-call times):
  A   `unikeras.adapters.openvino.compile(model)(x)` (the public call),
  A0  a plain `infer_request.infer` on A's compiled model (the graph alone, no wrapper),
  B   the converted twin's `infer_request.infer` (bench/layers.py's reference).
Both are compiled for f32 with the same thread count and one stream. Ratios are over B.

Run:  python bench/openvino_graphs.py [--rounds 30] [--block 200] [--threads 2] [--only cnn]
"""
import argparse
import collections
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from layers import build_network, native_layout, synthetic_data, torch_twin  # noqa: E402


def runtime_node_types(compiled):
    """Counter of the CPU plugin's layer types in a compiled model's runtime graph."""
    return collections.Counter(op.get_rt_info()["layerType"].astype(str)
                               for op in compiled.get_runtime_model().get_ordered_ops())


def build_pair(name, config):
    """(unikeras CompiledModel, converted ov.CompiledModel, unikeras model, torch twin)."""
    import openvino as ov
    import torch

    import unikeras as uk
    from unikeras.adapters import openvino as uov
    model = build_network(uk, name)
    twin = torch_twin(name, model).eval()
    ours = uov.compile(model, config=config)
    example = torch.from_numpy(native_layout(name, synthetic_data(name, 1)[0]))
    converted = ov.convert_model(twin, example_input=example)
    converted.reshape(ov.PartialShape([-1] + list(example.shape[1:])))
    compiled = ov.Core().compile_model(converted, "CPU",
                                       dict(config, INFERENCE_PRECISION_HINT="f32"))
    return ours, compiled, twin


def request_call(compiled):
    """`x -> output 0` through one infer request of `compiled`."""
    import numpy as np
    request, output = compiled.create_infer_request(), compiled.outputs[0]
    return lambda x: np.asarray(request.infer([x])[output])


def interleaved(calls, rounds, block):
    """{key: median seconds per call}, blocks of `block` calls, order flipped every round."""
    keys = list(calls)
    for key in keys:
        for _ in range(block):
            calls[key][0](calls[key][1])
    times = {key: [] for key in keys}
    for r in range(rounds):
        for key in (keys if r % 2 == 0 else keys[::-1]):
            call, x = calls[key]
            t0 = time.perf_counter()
            for _ in range(block):
                call(x)
            times[key].append((time.perf_counter() - t0) / block)
    return times


def report(name, args):
    import numpy as np
    import torch
    config = {"INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1}
    ours, converted, twin = build_pair(name, config)
    a_types, b_types = runtime_node_types(ours.compiled), runtime_node_types(converted)
    extra = {k: (a_types[k], b_types[k]) for k in a_types | b_types if a_types[k] != b_types[k]}
    print(f"{name}: runtime node types differing (unikeras, converted): {extra or 'none'}")
    raw, reference = request_call(ours.compiled), request_call(converted)
    for batch in (1, 128):
        x = synthetic_data(name, batch, seed=batch)[0]
        x_native = native_layout(name, x)
        with torch.no_grad():
            expected = twin(torch.from_numpy(x_native)).numpy()
        for got in (ours(x), raw(x), reference(x_native)):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
        block = args.block if batch == 1 else max(1, args.block // 10)
        times = interleaved({"A": (ours, x), "A0": (raw, x), "B": (reference, x_native)},
                            args.rounds, block)
        medians = {k: statistics.median(v) for k, v in times.items()}
        round_ratio = statistics.median(a / b for a, b in zip(times["A"], times["B"]))
        print(f"  batch {batch:3d}: A {1e3 * medians['A']:.4f} ms, A0 {1e3 * medians['A0']:.4f} "
              f"ms, B {1e3 * medians['B']:.4f} ms; A/B {medians['A'] / medians['B']:.3f} "
              f"(per-round {round_ratio:.3f}), A0/B {medians['A0'] / medians['B']:.3f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--block", type=int, default=200, help="calls per block at batch 1")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--only", default="cnn,lstm")
    args = p.parse_args()
    for name in args.only.split(","):
        report(name, args)


if __name__ == "__main__":
    main()
