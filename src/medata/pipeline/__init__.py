"""The merge as one pipeline over the manifest frame, one module per stage, in the order data
flows:

``plan`` (list inputs, sort out debris, detect layouts, place labels and splits: the frame is
born) -> ``probing`` (one decode per image: hashes, sizes, thumbnails, fates) -> ``merge``
(copy the kept files while ``medata.dedupe`` finds the groups) -> ``split`` (optional re-split)
-> ``medata.dedupe.apply`` (the decisions, the one place they are applied, naming the kept files
with ``naming``) -> ``write`` (files into place, the two tables).

Each stage takes the frame and returns it; work columns (``WORK``, prefixed ``_``) ride along
until the manifest is written."""

from medata.pipeline.options import DetectedInput, InputSpec, MergeOptions, MergeResult, Resplit
from medata.pipeline.run import merge

__all__ = ["DetectedInput", "InputSpec", "MergeOptions", "MergeResult", "Resplit", "merge"]
