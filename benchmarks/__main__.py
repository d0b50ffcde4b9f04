"""``python -m benchmarks [--quick] [--only NAME ...] [--threads N] [--class-size N]``.

Runs every benchmark in turn and prints one Markdown table per benchmark, ready to paste
into benchmarks/README.md. BLAS and torch threads are set before anything is imported,
and exported to the kernels the notebook and autograding benchmarks start, so that every
candidate computes with the same number of threads.
"""

import argparse
import os
import time

BENCHMARKS = ("training", "gradcheck", "notebooks", "autograde")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: few epochs and repeats, 2 lectures, a class of 4")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS),
                        help="run only these benchmarks")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and torch threads for every process (default 1: on a "
                             "shared 2-core machine, multi-threaded BLAS spends its time "
                             "waiting for descheduled threads)")
    parser.add_argument("--class-size", type=int, default=40,
                        help="submissions in the autograding benchmark (default 40)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(args.threads)

    import importlib

    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    mode = "quick" if args.quick else "full"
    print(f"# Benchmarks ({mode} run, {args.threads} BLAS thread(s), {os.cpu_count()} CPUs)\n",
          flush=True)
    with threadpool_limits(args.threads):
        for name in args.only:
            module = importlib.import_module(f"benchmarks.{name}")
            kwargs = {"class_size": args.class_size} if name == "autograde" else {}
            began = time.perf_counter()
            table = module.run(quick=args.quick, **kwargs)
            print(table.to_markdown())
            print(f"\n({name}: {time.perf_counter() - began:.0f} s)\n", flush=True)
    print(f"total: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
