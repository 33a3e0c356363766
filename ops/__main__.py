import sys
from pathlib import Path

# No install step: the shared layer (tvreport) is importable as it is in the tests.
_ROOT = Path(__file__).resolve().parents[1]
for _path in (str(_ROOT / "layers" / "shared" / "python"), str(_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from ops.cli import main  # noqa: E402

sys.exit(main())
