"""Large Netflix exports made from real ones (no such file is shipped)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

# Series rows of each copy cycle through this many date shifts, so each show's set of
# plays (date|season|episode) stays bounded and no viewing record outgrows DynamoDB's
# 400 KB item; film rows (no ":" in the title) move by one more day per copy, so every
# copy adds plays and the whole file counts.
DATE_SHIFTS = 8


def repeated_export(real_export: Path, target_bytes: int) -> bytes:
    """A NetflixViewingHistory.csv of at least `target_bytes`: the real export's rows
    repeated, each copy with its dates moved."""
    rows = list(csv.reader(io.StringIO(real_export.read_text(encoding="utf-8-sig"))))
    header, body = rows[0], rows[1:]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    out.write(",".join(header) + "\n")
    copy = 0
    while out.tell() < target_bytes:
        series_shift, film_shift = timedelta(days=30 * (copy % DATE_SHIFTS)), timedelta(days=copy)
        for title, day in body:
            moved = datetime.strptime(day, "%m/%d/%y") - (series_shift if ":" in title else film_shift)
            writer.writerow([title, f"{moved.month}/{moved.day}/{moved:%y}"])
        copy += 1
    return out.getvalue().encode("utf-8")
