"""Tool plumbing that ``stftbox.apis`` exported before it moved to
``stftbox.engine`` still imports from the old path for one release, with a
DeprecationWarning naming the new module."""
import pytest

import stftbox.apis as apis
import stftbox.engine as engine

OLD_ALL = ['setup_cpu_distributed', 'format_scores', 'print_scores',
           'run_protocol', 'load_config', 'add_config_dir_to_path',
           'package_config_dir', 'stftbox_config_scheme', 'build_runner',
           'check_data', 'set_vis_backend', 'check_config',
           'check_cfg_options', 'merge_cfg_options', 'ConfigCheckError',
           'check_work_dir', 'WorkDirInUseError']


@pytest.mark.parametrize('name', OLD_ALL)
def test_old_path_warns_and_returns_the_new_object(name):
    with pytest.warns(DeprecationWarning,
                      match=rf'stftbox\.apis\.{name} moved to '
                            rf'stftbox\.engine\.{name}'):
        obj = getattr(apis, name)
    assert obj is getattr(engine, name)


def test_from_import_and_unknown_name():
    with pytest.warns(DeprecationWarning, match='stftbox.engine'):
        from stftbox.apis import build_runner
    assert build_runner is engine.build_runner
    with pytest.raises(AttributeError, match='no_such_helper'):
        apis.no_such_helper  # noqa: B018
    assert 'build_runner' not in apis.__all__  # not advertised any more
