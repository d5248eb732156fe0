"""What OCR of a scanned page costs: seconds per page with Tesseract on this machine.

Pages are rendered from a known text as images without a text layer (A4 at 200 dpi, as a
scanner makes them), read through the PDF reader with OCR on, and compared with the text.

    python -m bench.ocr [--pages 5]
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

TEXT = (
    "Operators of essential services shall notify the competent authority of any incident "
    "having a significant impact on the continuity of the services they provide."
)


def scanned(pages: int) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=40)
    images = []
    for p in range(pages):
        image = Image.new("L", (1654, 2339), 255)
        draw = ImageDraw.Draw(image)
        words, line, y = TEXT.split(), "", 180
        for paragraph in range(6):
            for word in [f"{p + 1}.{paragraph + 1}", *words]:
                if len(line) + len(word) > 60:
                    draw.text((150, y), line, font=font, fill=0)
                    line, y = "", y + 60
                line = f"{line} {word}".strip()
            draw.text((150, y), line, font=font, fill=0)
            line, y = "", y + 110
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args(argv)
    from ingest.readers import ocr
    from ingest.readers.pdf import read_pdf

    if not ocr.available():
        print("tesseract is not installed: run `make ocr`")
        return 1
    data = scanned(args.pages)
    start = time.perf_counter()
    parsed = read_pdf(Path("scan.pdf"), data, ocr=True)
    seconds = time.perf_counter() - start
    text = " ".join(" ".join(b.text for b in parsed.blocks).split())
    words = TEXT.split()
    found = sum(text.count(w) > 0 for w in words) / len(words)
    print(
        f"{args.pages} scanned pages: {seconds:.1f} s, {seconds / args.pages:.2f} s a page; "
        f"{len(parsed.ocr_pages)} pages read, {found:.0%} of the text's words found"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
