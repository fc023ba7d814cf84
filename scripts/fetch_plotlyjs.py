"""Install plotly.js's finance bundle (1.3 MB) of the installed plotly package's exact plotly.js version into the
environment, so every report folder carries it instead of the full 4.8 MB bundle (helpers/plotlyjs.py).

`make env` runs this after pip; run it by hand in any other environment (conda: after `conda env create`):
    python scripts/fetch_plotlyjs.py
Offline or refused, it says so and exits 0: reports then carry the full bundle and still work.
"""

from __future__ import annotations

import sys

from helpers.plotlyjs import PARTIAL_BUNDLE, install_partial_bundle, plotlyjs_version


def main() -> int:
    try:
        path = install_partial_bundle()
    except Exception as exc:   # offline, not published, integrity mismatch: the full bundle still works
        print(f"plotly.js {PARTIAL_BUNDLE} bundle not installed ({exc}); report folders will carry the full "
              f"plotly.js", file=sys.stderr)
        return 0
    print(f"plotly.js {PARTIAL_BUNDLE} bundle {plotlyjs_version()}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
