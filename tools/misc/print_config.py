"""Print the whole config, with its bases merged and overrides applied.

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...]

The config is read as tools/train.py reads it (``stftbox::`` bases,
``custom_imports`` next to the config, ``dict(...)`` values in
--cfg-options), so what is printed is what a run would use.
"""
import argparse
import sys

from mmengine.config import DictAction

from stftbox.engine import load_config
from stftbox.apis import register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                        'train_cfg.max_epochs=10')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    try:
        cfg = load_config(args.config, args.cfg_options)
    except (FileNotFoundError, ModuleNotFoundError, SyntaxError) as err:
        sys.exit(f'error: {err}')
    print(cfg.pretty_text)


if __name__ == '__main__':
    main()
