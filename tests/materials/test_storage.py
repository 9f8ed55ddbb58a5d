"""The stores: random keys only, no way out of the root, same behaviour on disk and S3."""

import pytest

from app.materials.storage import LocalStorage, check_key, new_key


def test_keys_are_random_and_shaped(tmp_path):
    a, b = new_key(7), new_key(7)
    assert a != b and a.startswith("7/") and len(a.split("/")[1]) == 32
    for bad in ("../etc/passwd", "7/../../x", "/etc/passwd", "7/" + "A" * 32, "7", "7/x/y"):
        with pytest.raises(ValueError):
            check_key(bad)
    local = LocalStorage(tmp_path / "files")
    with pytest.raises(ValueError):
        local.get("../../secret")
    with pytest.raises(ValueError):
        local.put("1/../../x", b"x", content_type="text/plain")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_put_get_exists_delete_list(db, store):
    key = new_key(3)
    assert not store.exists(key)
    with pytest.raises(KeyError):
        store.get(key)
    store.put(key, b"hello", content_type="text/plain")
    store.put(new_key(4), b"other", content_type="text/plain")
    assert store.exists(key) and store.get(key) == b"hello"
    assert [(o.key, o.size) for o in store.list_keys("3/")] == [(key, 5)]
    assert len(list(store.list_keys())) == 2
    store.delete(key)
    store.delete(key)  # deleting twice is harmless
    assert not store.exists(key)
