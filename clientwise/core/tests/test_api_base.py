from clientwise.core.testing import assert_error


def test_health_needs_no_auth(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_unknown_api_path_is_json_404(api_client, org):
    r = api_client(org.admin).get("no-such-thing")
    assert r.status_code == 404


def test_bad_token_is_401_json(db, client):
    r = client.get("/api/v1/customers", headers={"Authorization": "Bearer cw_not-a-token"})
    assert_error(r, 401, "not_authenticated")
