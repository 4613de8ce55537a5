"""A partition's validation outcome and the DataFrame GX validates, without importing GX.

The run's process screens every partition in DuckDB (`data_checks.screen`) and needs these types
whether or not GX validates; `data_checks.gx_worker` (which imports GX) uses them too.
"""

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

# Integer and boolean columns with NULLs stay nullable (as in DuckDB's own pandas conversion), not
# floats and objects: a failed expectation's sample then shows 1, not 1.0.
_NULLABLE = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
}


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow result as the DataFrame GX validates (dates as datetime64, nullable integers)."""
    return table.to_pandas(date_as_object=False, types_mapper=_NULLABLE.get)


@dataclass(frozen=True)
class Outcome:
    """A partition's validation, as it travels back from a worker process."""

    success: bool
    expectations: int
    failed: list[dict]
    result_json: str
