from datetime import date, datetime

import pytest

from opencrf.dictionary.validation import LEGACY_NAMES, VALIDATION_TYPES, validation_type

REFERENCE_NAMES = {
    *(f"date_{order}" for order in ("ymd", "mdy", "dmy")),
    *(f"datetime_{order}" for order in ("ymd", "mdy", "dmy")),
    *(f"datetime_seconds_{order}" for order in ("ymd", "mdy", "dmy")),
    "time",
    "time_hh_mm_ss",
    "time_mm_ss",
    "integer",
    "number",
    "number_1dp",
    "number_2dp",
    "number_3dp",
    "number_4dp",
    "number_comma_decimal",
    "number_1dp_comma_decimal",
    "number_2dp_comma_decimal",
    "number_3dp_comma_decimal",
    "number_4dp_comma_decimal",
    "email",
    "phone",
    "phone_australia",
    "zipcode",
    "postalcode_australia",
    "postalcode_canada",
    "postalcode_french",
    "postalcode_germany",
    "ssn",
    "alpha_only",
    "mrn_10d",
    "mrn_generic",
    "vmrn",
    "signature",
    "autocomplete",
}

VALID = {
    "date_ymd": ["2024-02-29", "2023-12-31", "1900-01-01"],
    "date_mdy": ["2024-02-29"],
    "date_dmy": ["2000-02-29"],
    "datetime_ymd": ["2024-02-29 00:00", "2023-12-31 23:59"],
    "datetime_mdy": ["2024-01-05 07:30"],
    "datetime_dmy": ["2024-01-05 07:30"],
    "datetime_seconds_ymd": ["2024-02-29 23:59:59", "2023-01-01 00:00:00"],
    "datetime_seconds_mdy": ["2024-01-05 07:30:15"],
    "datetime_seconds_dmy": ["2024-01-05 07:30:15"],
    "time": ["00:00", "09:05", "23:59"],
    "time_hh_mm_ss": ["00:00:00", "23:59:59"],
    "time_mm_ss": ["00:00", "59:59"],
    "integer": ["0", "42", "-7", "+3", "007"],
    "number": ["0", "1.5", "-2.25", ".5", "+3", "1e5", "2.5E-3"],
    "number_1dp": ["1.5", "-0.1", "22.0"],
    "number_2dp": ["1.50", "-10.25"],
    "number_3dp": ["1.500"],
    "number_4dp": ["0.1234"],
    "number_comma_decimal": ["1,5", "-2", ",5"],
    "number_1dp_comma_decimal": ["1,5"],
    "number_2dp_comma_decimal": ["1,50"],
    "number_3dp_comma_decimal": ["1,500"],
    "number_4dp_comma_decimal": ["0,1234"],
    "email": ["someone@example.org", "first.last+tag@sub.example.co.jp"],
    "phone": ["(415) 555-1212", "415-555-1212", "4155551212", "415.555.1212 x12"],
    "phone_australia": ["02 1234 5678", "(02) 1234 5678", "0412 345 678", "1300 123 456"],
    "zipcode": ["12345", "12345-6789"],
    "postalcode_australia": ["2000"],
    "postalcode_canada": ["K1A 0B1", "k1a0b1"],
    "postalcode_french": ["75001", "2A004", "97400"],
    "postalcode_germany": ["10115"],
    "ssn": ["123-45-6789"],
    "alpha_only": ["abc", "ABC"],
    "mrn_10d": ["0123456789"],
    "mrn_generic": ["A123-45_x"],
    "vmrn": ["1234", "123456789"],
}

INVALID = {
    "date_ymd": ["2023-02-29", "2024-13-01", "2024-04-31", "24-01-01", "2024/01/01", "20240101"],
    "date_mdy": ["01-05-2024", "2023-02-29"],
    "date_dmy": ["05-01-2024", "1900-02-29"],
    "datetime_ymd": ["2024-01-05", "2024-01-05 24:00", "2024-01-05 7:30", "2023-02-29 10:00"],
    "datetime_mdy": ["2024-01-05 07:30:00"],
    "datetime_dmy": ["2024-01-05T07:30"],
    "datetime_seconds_ymd": ["2024-01-05 07:30", "2024-01-05 07:30:60"],
    "datetime_seconds_mdy": ["2023-02-29 07:30:00"],
    "datetime_seconds_dmy": ["05-01-2024 07:30:00"],
    "time": ["24:00", "9:05", "12:60", "12:00:00"],
    "time_hh_mm_ss": ["12:00", "24:00:00", "12:00:60"],
    "time_mm_ss": ["60:00", "12:00:00", "1:00"],
    "integer": ["1.0", "1e3", "", " 1", "one", "١٢"],
    "number": ["1.", "1,5", "1.2.3", "", "abc", "--1"],
    "number_1dp": ["22", "1.25", "1,5", ".5"],
    "number_2dp": ["1.5", "1.505"],
    "number_3dp": ["1.50"],
    "number_4dp": ["0.123"],
    "number_comma_decimal": ["1.5", "1,"],
    "number_1dp_comma_decimal": ["22", "1.5"],
    "number_2dp_comma_decimal": ["1,5"],
    "number_3dp_comma_decimal": ["1,5000"],
    "number_4dp_comma_decimal": ["0.1234"],
    "email": ["someone", "someone@", "@example.org", "a b@example.org", "a@example"],
    "phone": ["555-1212", "(015) 555-1212", "415-055-1212", "+44 20 7946 0958"],
    "phone_australia": ["1234 5678", "12 1234 5678"],
    "zipcode": ["1234", "12345-678", "ABCDE"],
    "postalcode_australia": ["200", "20000"],
    "postalcode_canada": ["K1A-0B1", "111 111"],
    "postalcode_french": ["7500", "99000", "2C004"],
    "postalcode_germany": ["1011", "101150"],
    "ssn": ["123456789", "123-456-789"],
    "alpha_only": ["ab1", "a b", "é", ""],
    "mrn_10d": ["123456789", "01234567890"],
    "mrn_generic": ["A 1", "A/1"],
    "vmrn": ["123", "0123", "1234567890"],
}


def _cases(table: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, values in table.items() for value in values]


def test_registry_holds_every_type_of_the_reference_and_no_other():
    assert set(VALIDATION_TYPES) == REFERENCE_NAMES


def test_every_checked_type_has_valid_and_invalid_examples():
    assert set(VALID) == set(INVALID) == REFERENCE_NAMES - {"signature", "autocomplete"}


@pytest.mark.parametrize(("name", "value"), _cases(VALID))
def test_valid_stored_value_is_accepted(name, value):
    assert VALIDATION_TYPES[name].is_valid(value)


@pytest.mark.parametrize(("name", "value"), _cases(INVALID))
def test_invalid_stored_value_is_refused(name, value):
    assert not VALIDATION_TYPES[name].is_valid(value)


def test_february_29_is_a_date_only_in_leap_years():
    date_ymd = VALIDATION_TYPES["date_ymd"]
    assert [date_ymd.is_valid(f"{year}-02-29") for year in (2000, 1900, 2024, 2023)] == [
        True,
        False,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("legacy", "current"),
    [
        ("int", "integer"),
        ("float", "number"),
        ("date", "date_ymd"),
        ("datetime", "datetime_ymd"),
        ("datetime_seconds", "datetime_seconds_ymd"),
    ],
)
def test_legacy_name_resolves_to_the_current_type(legacy, current):
    assert validation_type(legacy) is VALIDATION_TYPES[current]


def test_legacy_names_are_not_listed_as_types_of_their_own():
    assert not set(LEGACY_NAMES) & set(VALIDATION_TYPES)


def test_unknown_name_gives_none():
    assert validation_type("shoe_size") is None
    assert validation_type("") is None


@pytest.mark.parametrize(
    ("name", "odm_data_type", "odm_name"),
    [
        ("date_mdy", "date", "date_mdy"),
        ("datetime_dmy", "partialDatetime", "datetime_dmy"),
        ("datetime_seconds_ymd", "datetime", "datetime_seconds_ymd"),
        ("time", "partialTime", "time"),
        ("time_mm_ss", "text", "time_mm_ss"),
        ("integer", "integer", "int"),
        ("number", "float", "float"),
        ("number_2dp", "float", "number_2dp"),
        ("number_comma_decimal", "text", "number_comma_decimal"),
        ("email", "text", "email"),
        ("signature", "text", "signature"),
    ],
)
def test_odm_names_follow_the_reference(name, odm_data_type, odm_name):
    kind = VALIDATION_TYPES[name]
    assert (kind.odm_data_type, kind.odm_name) == (odm_data_type, odm_name)


def test_date_types_share_the_iso_storage_format_and_differ_in_display_order():
    kinds = [VALIDATION_TYPES[f"date_{order}"] for order in ("ymd", "mdy", "dmy")]
    assert [(k.kind, k.storage_format, k.display_order) for k in kinds] == [
        ("date", "YYYY-MM-DD", "ymd"),
        ("date", "YYYY-MM-DD", "mdy"),
        ("date", "YYYY-MM-DD", "dmy"),
    ]


def test_storage_format_hints():
    hints = {name: VALIDATION_TYPES[name].storage_format for name in VALIDATION_TYPES}
    assert hints["datetime_mdy"] == "YYYY-MM-DD HH:MM"
    assert hints["datetime_seconds_dmy"] == "YYYY-MM-DD HH:MM:SS"
    assert hints["time_hh_mm_ss"] == "HH:MM:SS"
    assert hints["number_2dp"] == "0.00"
    assert hints["number_3dp_comma_decimal"] == "0,000"


def test_signature_belongs_to_file_fields_and_autocomplete_to_dropdowns():
    assert VALIDATION_TYPES["signature"].field_types == frozenset({"file"})
    assert VALIDATION_TYPES["autocomplete"].field_types == frozenset({"dropdown"})
    assert VALIDATION_TYPES["email"].field_types == frozenset({"text"})


def test_comparable_gives_dates_datetimes_numbers_and_strings():
    assert VALIDATION_TYPES["date_dmy"].comparable("2024-02-29") == date(2024, 2, 29)
    stamp = VALIDATION_TYPES["datetime_ymd"].comparable("2024-02-29 10:30")
    assert (type(stamp), str(stamp)) == (datetime, "2024-02-29 10:30:00")
    assert VALIDATION_TYPES["number_comma_decimal"].comparable("-1,5") == -1.5
    assert VALIDATION_TYPES["integer"].comparable("42") == 42.0
    assert VALIDATION_TYPES["time"].comparable("09:05") == "09:05"


def test_comparable_refuses_an_invalid_value():
    with pytest.raises(ValueError, match="not a valid number_1dp value"):
        VALIDATION_TYPES["number_1dp"].comparable("22")


def test_compare_orders_numbers_numerically_not_as_text():
    number = VALIDATION_TYPES["number"]
    assert [number.compare("9", "10"), number.compare("10", "9"), number.compare("1", "1.0")] == [
        -1,
        1,
        0,
    ]


def test_compare_orders_dates_and_times():
    assert VALIDATION_TYPES["date_ymd"].compare("2024-01-31", "2024-02-01") == -1
    assert VALIDATION_TYPES["time_mm_ss"].compare("10:00", "09:59") == 1


def test_only_dates_times_and_numbers_are_ordered():
    ordered = {name for name, kind in VALIDATION_TYPES.items() if kind.is_ordered}
    assert ordered == {
        name for name in REFERENCE_NAMES if name.startswith(("date", "time", "number", "integer"))
    }


def test_number_types_are_bounded_by_any_number_in_their_decimal_mark():
    assert VALIDATION_TYPES["number_1dp"].bound_type is VALIDATION_TYPES["number"]
    assert (
        VALIDATION_TYPES["number_2dp_comma_decimal"].bound_type
        is VALIDATION_TYPES["number_comma_decimal"]
    )
    assert VALIDATION_TYPES["integer"].bound_type is VALIDATION_TYPES["integer"]
    assert VALIDATION_TYPES["date_mdy"].bound_type is VALIDATION_TYPES["date_mdy"]
