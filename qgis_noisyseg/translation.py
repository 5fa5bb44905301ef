"""The plugin's translations: i18n/qgis_noisyseg_<language>.qm for QGIS's user interface language.

Build the .qm files with ``make translations`` (scripts/update_translations.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

I18N_DIR = Path(__file__).resolve().parent / "i18n"


def qgis_language() -> str:
    """The two-letter language of QGIS's user interface: the "locale/userLocale" setting (QGIS
    writes it at start-up, and the Options dialog overrides it), else the system locale."""
    locale = QgsSettings().value("locale/userLocale", "") or QLocale().name()
    return str(locale)[:2].lower()


def translation_file(language: str) -> Path:
    return I18N_DIR / f"qgis_noisyseg_{language}.qm"


def install_translator() -> Optional[QTranslator]:
    """Installs the plugin's translation for QGIS's language on the application and returns it,
    or returns None when the plugin has no translation for that language."""
    path = translation_file(qgis_language())
    if not path.is_file():
        return None
    translator = QTranslator()
    if not translator.load(str(path)):
        return None
    QCoreApplication.installTranslator(translator)
    return translator


def remove_translator(translator: Optional[QTranslator]) -> None:
    if translator is not None:
        QCoreApplication.removeTranslator(translator)
