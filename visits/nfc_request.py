"""Every form value reaches the app in Unicode NFC: "Nguyễn" typed with a combining tilde and hook (as some
phone keyboards do) is the same text as the precomposed one, for names, addresses, searches and passwords.

JSON bodies are normalised where they are read (visits.text.nfc_json), since they are parsed by hand.
"""
import unicodedata

from flask import Request


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


class NfcRequest(Request):
    def _load_form_data(self) -> None:
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form and not all(unicodedata.is_normalized("NFC", key) and unicodedata.is_normalized("NFC", value)
                            for key, value in form.items(multi=True)):
            self.__dict__["form"] = self.parameter_storage_class(
                [(_nfc(key), _nfc(value)) for key, value in form.items(multi=True)])
