"""Netflix viewing-history parsing.

- `titles`: `parse_title` ("Show: Season 1: Episode" -> show/season/episode) and
  `series_names` (history-level evidence for two-part titles);
- `dates`: `detect_date_format` for a whole date column, `parse_date`;
- `csv_reader`: `read_netflix_csv` / `read_netflix_csv_bytes` for the
  `NetflixViewingHistory.csv` export.

The summary behind `python -m local inspect netflix-csv` is `local/netflix_inspect.py`
(only the CLI uses it, so no function ships it).
"""
