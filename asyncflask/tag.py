"""The tagged JSON of session cookies, kept at its old path; it lives in `asyncflask.json.tag`."""

import sys

from .json import tag

sys.modules[__name__] = tag
