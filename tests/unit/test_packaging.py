from infra import requirements


def test_layer_requirements_match_pyproject_runtime_dependencies():
    assert requirements.LAYER_REQUIREMENTS.read_text() == requirements.expected()


def test_every_runtime_dependency_is_pinned_exactly():
    for line in requirements.expected().splitlines()[1:]:
        assert "==" in line, line
