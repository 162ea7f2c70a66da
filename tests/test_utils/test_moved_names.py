"""Names moved out of ``stftbox.utils`` (issue 20) still import from the old
path for one release, with a DeprecationWarning naming the new module."""
import pytest

import stftbox.datasets.avgzsl_layout as layout
import stftbox.fileio as fileio
import stftbox.utils as utils


@pytest.mark.parametrize('name, new', [
    ('safe_torch_load', fileio), ('load_checkpoint_safely', fileio),
    ('resolve_checkpoint', fileio), ('get_entry', fileio),
    ('check_avgzsl_layout', layout), ('feature_archive_url', layout)])
def test_old_path_warns_and_returns_the_new_object(name, new):
    with pytest.warns(DeprecationWarning, match=new.__name__):
        obj = getattr(utils, name)
    assert obj is getattr(new, name)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match='no_such_helper'):
        utils.no_such_helper  # noqa: B018
