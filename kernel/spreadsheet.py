"""Cells that spreadsheets would run as formulas (CSV injection), for every CSV we write.

A cell starting with ``= + - @``, a tab or a carriage return is a formula to Excel and
LibreOffice; a leading apostrophe makes it text. Reading our own files back, ``unquoted``
removes that apostrophe again.
"""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# a UTF-8 byte order mark: without it, German Excel reads UTF-8 as Windows-1252 (ä → Ã¤)
BOM = "\ufeff"


def formula_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unquoted(cell: str) -> str:
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell
