"""parse_title / series_names on titles from real exports and on the documented rules."""
from __future__ import annotations

import pytest

from tests.unit.netflix.conftest import FI_EXPORT, US_EXPORT
from tvreport.netflix.csv_reader import read_netflix_csv
from tvreport.netflix.titles import ParsedTitle, TitleError, parse_title, series_names
from tvreport.text import normalize_title


def episode(show: str, season: str | None, episode_title: str | None) -> ParsedTitle:
    return ParsedTitle(kind="episode", show=show, season=season, episode=episode_title)


def movie(title: str) -> ParsedTitle:
    return ParsedTitle(kind="movie", show=title, season=None, episode=None)


# Titles copied verbatim from the two real exports (TABs included).
REAL_TITLES = [
    (
        "Conversations with a Killer: The Ted Bundy Tapes: Season 1: Handsome Devil",
        episode("Conversations with a Killer: The Ted Bundy Tapes", "Season 1", "Handsome Devil"),
    ),
    (
        "Stranger Things: Stranger Things 2: Chapter Nine: The Gate",
        episode("Stranger Things", "Stranger Things 2", "Chapter Nine: The Gate"),
    ),
    (
        "Gilmore Girls: A Year in the Life: Limited Series: Fall",
        episode("Gilmore Girls: A Year in the Life", "Limited Series", "Fall"),
    ),
    (
        "Big Mouth: Season 1: Sleepover: A Harrowing Ordeal of Emotional Brutality",
        episode("Big Mouth", "Season 1", "Sleepover: A Harrowing Ordeal of Emotional Brutality"),
    ),
    (
        "Friends: Season 10: The Last One: Part 1 & Part 2",
        episode("Friends", "Season 10", "The Last One: Part 1 & Part 2"),
    ),
    (
        "Comedians in Cars Getting Coffee: New 2018: Freshly Brewed: John Mulaney: A Hooker In The Rain",
        episode("Comedians in Cars Getting Coffee", "New 2018", "Freshly Brewed: John Mulaney: A Hooker In The Rain"),
    ),
    ("Titans: Kausi 1: Dick\tGrayson", episode("Titans", "Kausi 1", "Dick Grayson")),
    (
        "Black Lightning: Kausi 2: The\tBook of Secrets: Neljäs luku: Original Sin",
        episode("Black Lightning", "Kausi 2", "The Book of Secrets: Neljäs luku: Original Sin"),
    ),
    (
        "Shadowhunters: The Mortal Instruments: Kausi 3B: All Good Things…",
        episode("Shadowhunters: The Mortal Instruments", "Kausi 3B", "All Good Things…"),
    ),
    (
        "Challenger: Viimeinen lento: Minisarja: Avaruus on avoinna kaikille",
        episode("Challenger: Viimeinen lento", "Minisarja", "Avaruus on avoinna kaikille"),
    ),
    (
        "Lähtölaskenta: Inspiration4-avaruuslento: Minisarja: Jakso 4",
        episode("Lähtölaskenta: Inspiration4-avaruuslento", "Minisarja", "Jakso 4"),
    ),
    (
        "Sabrina: Pimeällä puolella: Osa 1: Ensimmäinen luku: October Country",
        episode("Sabrina: Pimeällä puolella", "Osa 1", "Ensimmäinen luku: October Country"),
    ),
    ("Riverdale: Kausi 5: Luku 95: Riverdale: RIP(?)", episode("Riverdale", "Kausi 5", "Luku 95: Riverdale: RIP(?)")),
    ("Tiger King: Tiger King 2: Armahda minut", episode("Tiger King", "Tiger King 2", "Armahda minut")),
    ("Häkkilinnut: New Orleans: Paras juosta", episode("Häkkilinnut", "New Orleans", "Paras juosta")),
    ("Bodyguard – Henkivartija: Jakso 6", episode("Bodyguard – Henkivartija", None, "Jakso 6")),
    ("Yksi meistä valehtelee: Pilotti", episode("Yksi meistä valehtelee", None, "Pilotti")),
    ("Spider-Man: Homecoming", movie("Spider-Man: Homecoming")),
    ("2001: A Space Odyssey", movie("2001: A Space Odyssey")),
    ("Captain America: Civil War", movie("Captain America: Civil War")),
    ("To All the Boys I’ve Loved Before", movie("To All the Boys I’ve Loved Before")),
    ("Crazy, Stupid, Love", movie("Crazy, Stupid, Love")),
]


@pytest.mark.parametrize(("raw", "expected"), REAL_TITLES, ids=[raw[:40] for raw, _ in REAL_TITLES])
def test_real_titles_parse_to_show_season_and_episode(raw: str, expected: ParsedTitle) -> None:
    assert parse_title(raw) == expected


def test_the_real_titles_are_really_in_the_exports() -> None:
    titles = {
        activity.title
        for path in (US_EXPORT, FI_EXPORT)
        for activity in read_netflix_csv(path.read_text(encoding="utf-8")).activities
    }
    # The reader collapses whitespace, so compare cleaned spellings.
    missing = [raw for raw, _ in REAL_TITLES if " ".join(raw.split()) not in titles]
    assert missing == []


def test_curly_apostrophe_is_kept_for_display_and_folded_in_the_key() -> None:
    parsed = parse_title("To All the Boys I’ve Loved Before")
    assert "’" in parsed.show
    assert normalize_title(parsed.show) == normalize_title("To All the Boys I've Loved Before")


@pytest.mark.parametrize(
    ("raw", "season"),
    [
        ("Broadchurch: Series 2: Episode 1", "Series 2"),
        ("Sherlock: Series 4: The Lying Detective", "Series 4"),
        ("Money Heist: Part 3: Episode 1", "Part 3"),
        ("Love, Death & Robots: Volume 2: Pop Squad", "Volume 2"),
        ("Maid: Limited Series: Dust", "Limited Series"),
        ("Chernobyl: Miniseries: 1:23:45", "Miniseries"),
        ("Dark: Staffel 1: Geheimnisse", "Staffel 1"),
        ("Élite: Temporada 2: Episodio 1", "Temporada 2"),
        ("Lupin: Saison 1: Chapitre 1", "Saison 1"),
        ("Undercover: Seizoen 1: Aflevering 1", "Seizoen 1"),
        ("Show: Season Two: Ep", "Season Two"),
    ],
)
def test_season_labels_in_several_languages(raw: str, season: str) -> None:
    parsed = parse_title(raw)
    assert parsed.kind == "episode"
    assert parsed.season == season
    assert parsed.show == raw.split(": ")[0]


def test_a_colon_without_a_following_space_does_not_split() -> None:
    assert parse_title("Chernobyl: Miniseries: 1:23:45").episode == "1:23:45"
    assert parse_title("Re:Zero") == movie("Re:Zero")


@pytest.mark.parametrize(
    "raw",
    [
        "Harry Potter and the Deathly Hallows: Part 2",
        "John Wick: Chapter 2",
        "Kill Bill: Vol. 2",
        "Black Mirror: Bandersnatch",
        "Hannah Gadsby: Nanette",
    ],
)
def test_two_parts_without_an_episode_label_are_movies(raw: str) -> None:
    assert parse_title(raw) == movie(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dare Me: Jakso 1", episode("Dare Me", None, "Jakso 1")),
        ("Sense8: Episode 3", episode("Sense8", None, "Episode 3")),
        ("The Rain: Pilot", episode("The Rain", None, "Pilot")),
        ("Show: Season 2", episode("Show", "Season 2", None)),
    ],
)
def test_two_parts_with_an_episode_or_season_label_are_episodes(raw: str, expected: ParsedTitle) -> None:
    assert parse_title(raw) == expected


def test_history_context_turns_a_repeated_prefix_into_a_series() -> None:
    titles = ["Tiger King: Salaisuus", "Tiger King: Henkilökultti", "Spider-Man: Homecoming"]
    series = series_names(titles)
    assert series == {"tiger king"}
    assert parse_title("Tiger King: Salaisuus", series) == episode("Tiger King", None, "Salaisuus")
    assert parse_title("Spider-Man: Homecoming", series) == movie("Spider-Man: Homecoming")


def test_history_context_joins_a_two_part_title_to_a_labelled_show() -> None:
    series = series_names(["Black Mirror: Season 4: USS Callister", "Black Mirror: Bandersnatch"])
    assert parse_title("Black Mirror: Bandersnatch", series) == episode("Black Mirror", None, "Bandersnatch")


def test_series_names_on_the_finnish_export(fi_export_text: str) -> None:
    series = series_names(activity.title for activity in read_netflix_csv(fi_export_text).activities)
    for key in ("tiger king", "the society", "hakkilinnut", "riverdale", "bodyguard henkivartija"):
        assert key in series
    for key in ("spider man", "365 paivaa", "shawn mendes"):
        assert key not in series


def test_series_names_groups_specials_of_one_comedian(us_export_text: str) -> None:
    """The documented price of the repeated-prefix rule."""
    series = series_names(activity.title for activity in read_netflix_csv(us_export_text).activities)
    assert "john mulaney" in series
    assert "trevor noah" not in series  # one special only: stays a movie


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", ":", " : : ", " : Episode 1", "?!: Season 1: Pilot"])
def test_titles_without_a_show_name_are_rejected(raw: str) -> None:
    with pytest.raises(TitleError):
        parse_title(raw)


def test_the_unfilled_template_row_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(TitleError, match="template"):
        parse_title("SHOW: SEASON: VideoEpisode")


def test_a_show_really_named_like_the_template_words_is_kept() -> None:
    assert parse_title("Show: Season 1: Pilot") == episode("Show", "Season 1", "Pilot")


def test_empty_middle_parts_and_stray_whitespace_are_dropped() -> None:
    assert parse_title("  Dark :  : Staffel 1 :\tGeheimnisse ") == episode("Dark", "Staffel 1", "Geheimnisse")
