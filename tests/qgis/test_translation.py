"""The Japanese translation: loaded for a Japanese QGIS, complete, and compiled from the current .ts."""

from __future__ import annotations

import shutil
import string
import sys
import zipfile

import pytest
from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import package_plugin  # noqa: E402
import update_translations  # noqa: E402

TS = update_translations.ts_path("ja")
QM = update_translations.qm_path("ja")
pytestmark = pytest.mark.skipif(shutil.which("lrelease") is None, reason="lrelease (qttools5-dev-tools) is missing")


@pytest.fixture
def qgis_locale(qgis_app):
    """Sets QGIS's user interface locale for one test; returns the setter."""
    settings = QgsSettings()
    previous = settings.value("locale/userLocale")

    def set_locale(locale: str) -> None:
        settings.setValue("locale/userLocale", locale)

    yield set_locale
    if previous is None:
        settings.remove("locale/userLocale")
    else:
        settings.setValue("locale/userLocale", previous)


@pytest.fixture
def japanese(qgis_locale):
    from qgis_noisyseg.translation import install_translator, remove_translator

    qgis_locale("ja_JP")
    translator = install_translator()
    yield translator
    remove_translator(translator)


def test_a_japanese_qgis_gets_the_japanese_strings(japanese):
    from qgis_noisyseg.gui.layers import tr as layers_tr
    from qgis_noisyseg.processing.runner import tr as processing_tr

    assert japanese is not None and japanese.language() == "ja_JP"
    assert QCoreApplication.translate("NoisySegPlugin", "Check backend environment") == "バックエンド環境を確認"
    assert QCoreApplication.translate("NoisySegPanel", "2. Pretrain") == "2. 事前学習"
    assert processing_tr("Export noisy dataset") == "ノイジーデータセットをエクスポート"
    assert layers_tr("QGIS cannot open {}").format("a.tif") == "QGIS で a.tif を開けません"


def test_removing_the_translator_restores_english(qgis_locale):
    from qgis_noisyseg.translation import install_translator, remove_translator

    qgis_locale("ja")
    translator = install_translator()
    remove_translator(translator)
    assert QCoreApplication.translate("NoisySegPlugin", "Check backend environment") == "Check backend environment"


@pytest.mark.parametrize("locale", ["de_DE", "en_US", "C"])
def test_no_translator_for_a_language_without_a_translation(qgis_locale, locale):
    from qgis_noisyseg.translation import install_translator

    qgis_locale(locale)
    assert install_translator() is None


def test_every_translatable_string_in_the_code_is_translated(japanese):
    """Each tr()/translate()/QT_TRANSLATE_NOOP literal, in the context it is looked up in at run time,
    has a translation in the .ts, and the installed .qm returns it."""
    messages = update_translations.ts_messages(TS)
    missing = [f"{where}: {context}: {text[:70]!r}" for (context, text), where
               in update_translations.code_messages().items() if not messages.get((context, text))]
    assert not missing, ("not in the Japanese .ts: run `make translations`, translate the new messages in "
                         f"{TS.relative_to(REPO)} and run it again (pylupdate5 reads only plain string literals):\n"
                         + "\n".join(missing))
    wrong = [f"{context}: {text[:50]!r} -> {QCoreApplication.translate(context, text)[:50]!r}"
             for (context, text), translation in messages.items()
             if QCoreApplication.translate(context, text) != translation]
    assert not wrong, "the .qm does not give the .ts translation:\n" + "\n".join(wrong)


def test_every_message_in_the_ts_is_translated():
    untranslated = [f"{context}: {text!r}" for (context, text), translation
                    in update_translations.ts_messages(TS).items() if translation is None]
    assert not untranslated, f"unfinished in {TS.name}:\n" + "\n".join(untranslated)


def format_fields(text: str) -> set[tuple[str, str]]:
    """The str.format fields of ``text`` as (name, format spec), with automatic ``{}`` numbered, so that a
    translation may reorder them as ``{1} … {0}``."""
    fields, automatic = set(), 0
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is None:
            continue
        if name == "":
            name, automatic = str(automatic), automatic + 1
        fields.add((name, spec))
    return fields


def test_translations_keep_the_format_fields_and_the_menu_accelerator():
    for (context, text), translation in update_translations.ts_messages(TS).items():
        assert format_fields(translation) == format_fields(text), (context, text, translation)
        assert translation.count("&") == text.count("&"), (context, text, translation)


def test_the_qm_is_compiled_from_the_current_ts():
    assert QM.read_bytes() == update_translations.compile_qm(TS, QM), (
        f"{QM.relative_to(REPO)} is stale: run `make translations` and commit the .qm")


def test_updating_again_keeps_every_message_and_translation(tmp_path):
    pytest.importorskip("PyQt5.pylupdate", reason="pylupdate5 (pyqt5-dev-tools) is missing")
    copy = tmp_path / TS.name
    shutil.copy(TS, copy)
    update_translations.extract(copy, "ja")
    assert update_translations.ts_messages(copy) == update_translations.ts_messages(TS)
    assert not update_translations.extract(copy, "ja"), "a second run changed the .ts"


def test_the_plugin_zip_ships_the_qm_not_the_ts(tmp_path):
    with zipfile.ZipFile(package_plugin.build(tmp_path)) as archive:
        names = archive.namelist()
        assert archive.read("qgis_noisyseg/i18n/qgis_noisyseg_ja.qm") == QM.read_bytes()
    assert not [name for name in names if name.endswith(".ts")]
