"""A VS Code extension package (VSIX) packed by hand, as `@vscode/vsce package` lays one out: a zip with
`extension.vsixmanifest`, `[Content_Types].xml` and the extension under `extension/` (its package.json).

VS Code's installer reads only `extension/package.json` and extracts only `extension/`
(src/vs/platform/extensionManagement/node/extensionManagementUtil.ts); the other two are vsce's and the
Marketplace's, kept so that the file is what a publisher would ship. `engines.vscode` must admit the
running VS Code, or code-server refuses the install.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension=".json" ContentType="application/json"/>
<Default Extension=".vsixmanifest" ContentType="text/xml"/>
</Types>
"""
MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011">
  <Metadata>
    <Identity Language="en-US" Id="{name}" Version="{version}" Publisher="{publisher}"/>
    <DisplayName>{display}</DisplayName>
    <Description xml:space="preserve">{display}</Description>
  </Metadata>
  <Installation><InstallationTarget Id="Microsoft.VisualStudio.Code"/></Installation>
  <Dependencies/>
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true"/>
  </Assets>
</PackageManifest>
"""


def package_json(extension_id: str, version: str, display_name: str) -> dict[str, object]:
    """The extension's manifest (its package.json), for an extension that contributes nothing."""
    publisher, name = extension_id.split(".", 1)
    return {
        "name": name,
        "publisher": publisher,
        "version": version,
        "displayName": display_name,
        "engines": {"vscode": "^1.96.0"},
    }


def pack(path: Path, extension_id: str, version: str, display_name: str) -> Path:
    """Write `<publisher>.<name>-<version>.vsix` for an extension that contributes nothing."""
    publisher, name = extension_id.split(".", 1)
    manifest = package_json(extension_id, version, display_name)
    fields = {"name": name, "publisher": publisher, "version": version}
    xml = MANIFEST.format(**{key: escape(value) for key, value in fields.items()}, display=escape(display_name))
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("extension.vsixmanifest", xml)
        archive.writestr("extension/package.json", json.dumps(manifest, indent=2) + "\n")
    return path
