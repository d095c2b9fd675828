"""Natural house-number order and diacritic-free matching."""
import random

from visits.addresses import sort_key
from visits.text import address_key, fold, nfc


def test_house_numbers_sort_naturally():
    expected = ["1", "2", "2A", "2B", "10", "10/3", "10/12", "12", "Ngõ 3, số 20", "Ngõ 5, số 7", "Ngõ 5, số 10"]
    shuffled = expected[:]
    random.Random(4).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == expected


def test_sort_key_ignores_case_diacritics_and_the_word_so():
    assert sort_key("12a") == sort_key("12A") == sort_key("số 12A")
    assert sort_key("ngo 5, so 7") == sort_key("Ngõ 5, số 7")


def test_fold_strips_diacritics_and_case():
    assert fold("Nguyễn Văn An") == "nguyen van an"
    assert fold("ĐỖ THỊ  Lan ") == "do thi lan"


def test_combining_and_precomposed_are_the_same_name():
    combining = "Nguye\u0302\u0303n"  # e + circumflex + tilde, as some keyboards send it
    assert combining != "Nguyễn"
    assert nfc(combining) == "Nguyễn"
    assert fold(combining) == fold("Nguyễn") == "nguyen"


def test_address_key_matches_spellings_of_one_address():
    assert address_key("Nguyễn Trãi", "12") == address_key("nguyen trai", "số 12") == \
        address_key("Nguyễn Trãi", "Nguyễn Trãi 12") == address_key("Nguyễn Trãi", "nguyen trai 12")
    assert address_key("Nguyễn Trãi", "12") != address_key("Nguyễn Trãi", "12A")
