"""Suite-wide test settings: a headless plotting backend and reproducible hypothesis runs."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from hypothesis import settings  # noqa: E402

# Derandomized so that CI and a developer see the same examples for the same code.
settings.register_profile("cxlab", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("cxlab")
