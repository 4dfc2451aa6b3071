from seckit import SecServer, Tenant


def test_kit(server: SecServer, alice: Tenant) -> None:
    r = server.call(alice.root, "queryModelTrainStatus", query={"modelId": alice.model_id})
    assert r.status_code == 200, r.text
    r = server.call(alice.root, "queryImageAssetFromImageId", query={"imageId": alice.v2_image_ids[0]})
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG"), r.text
