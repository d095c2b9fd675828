"""Writing a source as .xlsx (openpyxl's write-only mode) or as CSV (UTF-8 with a byte-order mark).

Neither keeps rows: write-only openpyxl streams each row into the sheet's XML on disk, and the CSV writer
hands out text about every 64 KB. A sheet holds at most SHEET_MAX_ROWS rows with its header (Excel's limit);
more rows go on to "<title> (2)", "<title> (3)", … with the header again.
"""
import csv
import io
from collections.abc import Callable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .sources import Source

SHEET_MAX_ROWS = 1_048_576  # Excel's limit, header included
PROGRESS_EVERY = 5000
CSV_FLUSH_CHARS = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BAD_TITLE_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def write_xlsx(source: Source, path, max_rows: int = SHEET_MAX_ROWS,
               progress: Callable[[int], None] | None = None) -> int:
    """Write the source's groups to a workbook at path; returns the data rows written."""
    workbook = Workbook(write_only=True)
    titles: set[str] = set()
    done = 0
    text_columns = source.text_columns
    for title, rows in source.groups():
        sheet, used, part = None, max_rows, 0
        for row in rows:
            if used >= max_rows:
                part += 1
                sheet = new_sheet(workbook, source, sheet_title(title, part, titles))
                used = 1
            for index in text_columns:
                value = row[index]
                if value and value[0] == "=":  # openpyxl would store it as a formula
                    cell = WriteOnlyCell(sheet, value)
                    cell.data_type = "s"
                    row[index] = cell
            sheet.append(row)
            used += 1
            done += 1
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done)
        if sheet is None:
            new_sheet(workbook, source, sheet_title(title, 1, titles))
    if not titles:
        new_sheet(workbook, source, sheet_title("Sheet", 1, titles))
    workbook.save(path)
    return done


def new_sheet(workbook: Workbook, source: Source, title: str):
    sheet = workbook.create_sheet(title)
    for number, heading in enumerate(source.header, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = max(10, min(40, len(heading) + 4))
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"  # a printed list repeats its header on every page
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    bold = Font(bold=True)
    header = []
    for heading in source.header:
        cell = WriteOnlyCell(sheet, heading)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    return sheet


def sheet_title(title: str, part: int, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = " ".join(str(title).translate(BAD_TITLE_CHARS).split()) or "Sheet"
    suffix = "" if part == 1 else f" ({part})"
    name = base[:31 - len(suffix)] + suffix
    number = part
    while name.lower() in {t.lower() for t in taken}:
        number += 1
        suffix = f" ({number})"
        name = base[:31 - len(suffix)] + suffix
    taken.add(name)
    return name


def csv_chunks(source: Source) -> Iterator[bytes]:
    """The source as CSV text in UTF-8, a byte-order mark first (so Excel shows diacritics), 64 KB at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(source.header)
    text_columns = source.text_columns
    for _title, rows in source.groups():
        for row in rows:
            for index in text_columns:
                value = row[index]
                if value and value[0] in FORMULA_STARTS:  # Excel would run it as a formula
                    row[index] = "'" + value
            writer.writerow(row)
            if buffer.tell() > CSV_FLUSH_CHARS:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_csv(source: Source, path, progress: Callable[[int], None] | None = None) -> int:
    """The CSV into a file (for a background export); returns the data rows written."""
    counted = CountingSource(source, progress)
    with open(path, "wb") as file:
        for chunk in csv_chunks(counted):
            file.write(chunk)
    return counted.done


class CountingSource(Source):
    """A source that reports how many rows have gone through it."""

    def __init__(self, source: Source, progress):
        self.source, self.progress, self.done = source, progress, 0
        self.header, self.text_columns = source.header, source.text_columns

    def groups(self):
        for title, rows in self.source.groups():
            yield title, self.counted(rows)

    def counted(self, rows):
        for row in rows:
            self.done += 1
            if self.progress is not None and self.done % PROGRESS_EVERY == 0:
                self.progress(self.done)
            yield row
