import hashlib

from tests.integration.uploads.conftest import pdf_bytes


async def test_smoke(tus, upload_settings):
    data = pdf_bytes(11 * 1024 * 1024 + 123)
    url, last = await tus.upload(data, 3 * 1024 * 1024)
    assert last.headers["upload-offset"] == str(len(data))
    assert "fieldproof-evidence-id" in last.headers
    head = await tus.head(url)
    assert head.status_code == 200
    print(hashlib.sha256(data).hexdigest())
