"""Printing GZSL scores."""
from typing import Mapping, Optional

SCORE_KEYS = ('S', 'U', 'HM', 'ZSL')


def format_scores(scores: Mapping[str, float],
                  title: Optional[str] = None) -> str:
    """A small table of seen accuracy S, unseen accuracy U, harmonic mean HM
    and ZSL accuracy (percent, two decimals).

    Args:
        scores (Mapping): keys ``S``, ``U``, ``HM``, ``ZSL`` (optionally with
            a ``gzsl/`` prefix); missing keys print as ``-``.
        title (str, optional): a line printed above the table.
    """
    def get(key):
        value = scores.get(key, scores.get(f'gzsl/{key}'))
        return '-' if value is None else f'{value:.2f}'

    header = ' | '.join(f'{k:>6}' for k in SCORE_KEYS)
    row = ' | '.join(f'{get(k):>6}' for k in SCORE_KEYS)
    lines = ([title] if title else []) + [header, row]
    return '\n'.join(lines)


def print_scores(scores: Mapping[str, float],
                 title: Optional[str] = None) -> None:
    """Print :func:`format_scores` to stdout, on rank 0 only (a
    distributed run prints its summary once)."""
    from mmengine.dist import is_main_process
    if is_main_process():
        print(format_scores(scores, title), flush=True)
