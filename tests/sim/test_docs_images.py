"""The docs' display images are what the code draws now (issue 14, item 9): `make docs-images` remakes them."""

from sim.docs_images import DOCS_IMG, samples, write


def test_docs_images_are_drawn_from_the_current_code(tmp_path):
    written = write(tmp_path)
    assert len(written) == len(samples())
    stale = [p.name for p in written if not (DOCS_IMG / p.name).is_file()
             or (DOCS_IMG / p.name).read_bytes() != p.read_bytes()]
    assert stale == [], f"stale or missing in docs/img (run make docs-images): {stale}"


def test_the_identity_image_shows_the_software_id_as_the_terminal_forms_it():
    screen = samples()["self-test-identity-128"][0]
    assert screen.software_id.startswith("taxiterm ") and " meter:" in screen.software_id
    assert screen.tariff_id == "DEMO-2026A"
