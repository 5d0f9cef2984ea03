"""Errors raised on bad input.

Every message names where the problem is: the file, the layer, the row and/or the field, so a
planner can fix the source data without reading code. The CLI maps these to exit code 2 and the
web app to HTTP 422.
"""

from __future__ import annotations


class OnemapInputError(ValueError):
    """Bad input from a user: a file, a layer, a request or a rule table.

    Parameters name the location; ``str(err)`` gives one readable line with all of them.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        layer: str | None = None,
        row: int | str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.layer = layer
        self.row = row
        self.field = field
        super().__init__(self.__str__())

    def location(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"file {self.file}")
        if self.layer is not None:
            parts.append(f"layer '{self.layer}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, object]:
        return {
            "error": self.message,
            "file": self.file,
            "layer": self.layer,
            "row": self.row,
            "field": self.field,
        }
