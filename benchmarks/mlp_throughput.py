"""Training throughput of the 784-100-10 ReLU MLP: nnkit vs PyTorch vs scikit-learn.

All three train the same network -- Dense(784 -> 100), ReLU, Dense(100 -> 10), softmax
cross-entropy -- in float32 with plain SGD (no momentum, no weight decay) on the same
synthetic data (random pixels in [0, 1), random labels 0..9, N samples), at batch sizes
64 and 256.  The data are not reshuffled between epochs (shuffle=False for nnkit and
scikit-learn, contiguous slices for torch), so every framework times the same work:
forward, backward and update on contiguous mini-batches.

Each measurement runs in its own process (a fresh interpreter, default thread
settings: numpy's OpenBLAS and torch both use all cores), after one warm-up epoch.
The runs are interleaved (nnkit, torch, sklearn, nnkit, ...) and repeated; we print
medians of samples/s and the ratios between frameworks.

The same run measures the machine's float32 GEMM rate (square matrix products with
numpy and with torch; the faster of the two) and reports nnkit's achieved FLOP rate at
batch 256 as a percentage of it.  FLOPs a training step needs per sample, counting
matrix products only (2 FLOPs per multiply-add):
  forward   s1 = x W1 (784 x 100), s2 = x1 W2 (100 x 10)        2 (78,400 + 1,000)
  backward  dW2 = x1^T delta2, dx1 = delta2 W2^T, dW1 = x^T delta1 2 (1,000 + 1,000 + 78,400)
            (no dx for the first layer: nobody needs dL/d(input))
  total     2 (2 * 78,400 + 3 * 1,000) = 319,600 FLOPs per sample.

Usage:  python benchmarks/mlp_throughput.py [--quick] [--repeats R] [--samples N] [--epochs E]
                                             [--threads T]
--threads T limits numpy's BLAS and torch to T threads each (default: their own defaults);
on a machine busy with other work, --threads 1 gives steadier figures.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

SIZES = (784, 100, 10)
LR = 0.01
FLOPS_PER_SAMPLE = 2 * (2 * SIZES[0] * SIZES[1] + 3 * SIZES[1] * SIZES[2])
FRAMEWORKS = ("nnkit", "torch", "sklearn")


def _data(n, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    return rng.random((n, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[2], n)


def run_nnkit(batch, n, epochs):
    import numpy as np
    from nnkit.models import MLP
    X, y = _data(n)
    model = MLP(sizes=SIZES, activation="relu", lr=LR, epochs=1, batch_size=batch, momentum=0.0,
                weight_decay=0.0, seed=0, dtype=np.float32, shuffle=False)
    model.fit(X, y)                                   # warm-up epoch
    model.epochs = epochs
    t = time.perf_counter()
    model.fit(X, y)
    elapsed = time.perf_counter() - t
    assert all(p.dtype == np.float32 for p in model.params.values())
    from threadpoolctl import threadpool_info       # comes with scikit-learn
    blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return elapsed, {"final_loss": model.history_["loss"][-1], "threads": max(blas, default=None)}


def run_torch(batch, n, epochs):
    import torch
    X, y = _data(n)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[1], SIZES[2]))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.0)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        for i in range(0, n, batch):
            opt.zero_grad()
            loss = loss_fn(model(X[i:i + batch]), y[i:i + batch])
            loss.backward()
            opt.step()
        return loss.item()

    epoch()                                           # warm-up epoch
    t = time.perf_counter()
    for _ in range(epochs):
        last = epoch()
    elapsed = time.perf_counter() - t
    return elapsed, {"final_loss": last, "threads": torch.get_num_threads()}


def run_sklearn(batch, n, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    X, y = _data(n)

    def model(max_iter):
        return MLPClassifier(hidden_layer_sizes=(SIZES[1],), activation="relu", solver="sgd",
                             learning_rate="constant", learning_rate_init=LR, momentum=0.0,
                             nesterovs_momentum=False, alpha=0.0, batch_size=batch,
                             max_iter=max_iter, shuffle=False, tol=0.0, n_iter_no_change=10**9,
                             early_stopping=False, random_state=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # max_iter reached: intended
        model(1).fit(X, y)                                     # warm-up epoch
        m = model(epochs)
        t = time.perf_counter()
        m.fit(X, y)
        elapsed = time.perf_counter() - t
    assert m.coefs_[0].dtype.name == "float32" and m.n_iter_ == epochs
    return elapsed, {"final_loss": float(m.loss_)}


def run_gemm(size, reps):
    """Best float32 GEMM rate (GFLOP/s) of numpy and of torch on square (size x size) matrices."""
    import numpy as np
    import torch
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    c = np.empty_like(a)
    ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.empty(size, size)
    rates = {}
    for name, mm in (("numpy", lambda: np.dot(a, b, out=c)), ("torch", lambda: torch.mm(ta, tb, out=tc))):
        mm()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            mm()
            times.append(time.perf_counter() - t)
        rates[name] = 2 * size ** 3 / statistics.median(times) / 1e9
    return rates


def worker(args):
    if args.worker == "gemm":
        print(json.dumps(run_gemm(args.gemm_size, args.gemm_reps)))
        return
    run = {"nnkit": run_nnkit, "torch": run_torch, "sklearn": run_sklearn}[args.worker]
    elapsed, extra = run(args.batch, args.samples, args.epochs)
    print(json.dumps({"samples_per_s": args.samples * args.epochs / elapsed, **extra}))


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _spawn(*argv, threads=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if threads:
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    out = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"worker {argv} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(args):
    batches = (64, 256)
    threads = f"{args.threads} thread(s) each" if args.threads else "default threads"
    print(f"784-100-10 ReLU MLP, float32, plain SGD; {args.samples} samples x {args.epochs} epochs "
          f"per run, {args.repeats} interleaved repeats, medians; {os.cpu_count()} CPUs, {threads}")
    rates = {(fw, b): [] for fw in FRAMEWORKS for b in batches}
    gemm = {"numpy": [], "torch": []}
    threads_seen = {}
    for r in range(args.repeats):
        for b in batches:
            for fw in FRAMEWORKS:
                res = _spawn("--worker", fw, "--batch", str(b), "--samples", str(args.samples),
                             "--epochs", str(args.epochs), threads=args.threads)
                rates[fw, b].append(res["samples_per_s"])
                threads_seen[fw] = res.get("threads")
        g = _spawn("--worker", "gemm", "--gemm-size", str(args.gemm_size), "--gemm-reps", str(args.gemm_reps),
                   threads=args.threads)
        for k in gemm:
            gemm[k].append(g[k])
        print(f"  repeat {r + 1}/{args.repeats}: " + ", ".join(
            f"{fw}@{b} {rates[fw, b][-1]:,.0f}" for b in batches for fw in FRAMEWORKS), flush=True)

    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"threads: numpy BLAS (nnkit, scikit-learn) {threads_seen['nnkit']}, torch {threads_seen['torch']}")
    print("\nsamples/s (median)")
    print(f"{'batch':>6} " + " ".join(f"{fw:>10}" for fw in FRAMEWORKS) + "   nnkit/torch  nnkit/sklearn")
    for b in batches:
        print(f"{b:>6} " + " ".join(f"{med[fw, b]:>10,.0f}" for fw in FRAMEWORKS)
              + f"   {med['nnkit', b] / med['torch', b]:>10.2f}x  {med['nnkit', b] / med['sklearn', b]:>12.2f}x")

    g_np, g_t = statistics.median(gemm["numpy"]), statistics.median(gemm["torch"])
    peak = max(g_np, g_t)
    print(f"\nfloat32 GEMM {args.gemm_size}x{args.gemm_size}: numpy {g_np:.1f} GFLOP/s, "
          f"torch {g_t:.1f} GFLOP/s -> machine rate {peak:.1f} GFLOP/s")
    print(f"FLOPs per sample (matrix products of one training step): {FLOPS_PER_SAMPLE:,}")
    for b in batches:
        for fw in FRAMEWORKS:
            achieved = med[fw, b] * FLOPS_PER_SAMPLE / 1e9
            print(f"  {fw:>8} @ batch {b:>3}: {achieved:6.1f} GFLOP/s = {100 * achieved / peak:5.1f}% of GEMM rate")

    n64 = med["nnkit", 64] / med["torch", 64]
    pct = 100 * med["nnkit", 256] * FLOPS_PER_SAMPLE / 1e9 / peak
    ahead = all(med["nnkit", b] > med[fw, b] for b in batches for fw in ("torch", "sklearn"))
    print("\ngoals: nnkit ahead of both peers at both batch sizes: " + ("yes" if ahead else "NO")
          + f"; nnkit/torch at 64 = {n64:.2f}x (goal >= 1.5): " + ("yes" if n64 >= 1.5 else "NO")
          + f"; {pct:.0f}% of GEMM rate at 256 (goal >= 60%): " + ("yes" if pct >= 60 else "NO"))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a fast smoke run (few samples, 1 repeat)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--samples", type=int, default=16384)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="BLAS/torch threads per process")
    p.add_argument("--gemm-size", type=int, default=1024)
    p.add_argument("--gemm-reps", type=int, default=20)
    p.add_argument("--worker", choices=FRAMEWORKS + ("gemm",), help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=64, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.quick:
        args.repeats, args.samples, args.epochs, args.gemm_reps = 1, 2048, 1, 5
    if args.worker:
        worker(args)
    else:
        main(args)
