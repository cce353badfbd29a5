"""``kosi import`` and ``kosi export``: files in, files out, through the catalog's RPC."""
import json
import sys

from rich.console import Console
from rich.progress import Progress

from cli.operator import anonymous_rpc, operator_rpc
from services.catalog.transfer import ImportReport, read_records, to_geojson, write_csv


def import_file(path, fmt: str, batch_size: int, report_path=None) -> dict:
    rows = read_records(path, fmt)
    report = ImportReport()
    console = Console(stderr=True)
    good = []
    for row_number, record, errors in rows:
        report.rows += 1
        if errors:
            report.reject(row_number, record or {}, errors)
        else:
            good.append((row_number, record))
    with operator_rpc(timeout=120) as rpc, Progress(console=console) as progress:
        task = progress.add_task(f"importing {path.name}", total=len(rows))
        progress.advance(task, len(rows) - len(good))
        for start in range(0, len(good), batch_size):
            chunk = good[start:start + batch_size]
            results = rpc.catalog.import_records([record for _row, record in chunk])
            for (row_number, record), result in zip(chunk, results, strict=True):
                if result.get("errors"):
                    report.reject(row_number, record, result["errors"])
                else:
                    report.imported += 1
            progress.advance(task, len(chunk))
    summary = report.as_dict()
    console.print(f"{summary['rows']} rows: {summary['imported']} imported, {summary['rejected']} rejected")
    for rejection in summary["rejections"][:20]:
        console.print(f"  row {rejection['row']}: {json.dumps(rejection['errors'], ensure_ascii=False)}")
    if report_path:
        report_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def export_file(fmt: str, output=None) -> None:
    with anonymous_rpc(timeout=120) as rpc:  # published entries only: no staff rights needed
        entries = rpc.catalog.export_entries({})
    if fmt == "geojson":
        text = json.dumps(to_geojson(entries), ensure_ascii=False)
        (output.write_text(text, encoding="utf-8") if output else sys.stdout.write(text + "\n"))
        return
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            write_csv(entries, handle)
    else:
        write_csv(entries, sys.stdout)
