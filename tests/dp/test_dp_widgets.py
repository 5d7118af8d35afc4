"""Compute functions behind the DP widgets (no browser), and the views' construction.

Every view shows its figure in one ``ipywidgets.Image`` whose PNG is swapped in place: a move
changes the bytes, the Image object stays, no ``Output`` exists or is cleared, and the PNG decodes to
the figure's size (issue 20: a cleared Output paints an empty frame, the widget collapses).
"""

from __future__ import annotations

import math

import ipywidgets  # noqa: F401  pinned: a broken install must fail here, not skip
import matplotlib
import numpy as np
import pytest

from labkit import dp
from widget_frames import pixels as decode, png_size, widgets_in as _tree

matplotlib.use("Agg")



@pytest.fixture
def clears(monkeypatch):
    """Every Output.clear_output / append_display_data / outputs reset made while the test runs."""
    calls = []
    monkeypatch.setattr(ipywidgets.Output, "clear_output", lambda self, *a, **k: calls.append("clear_output"))
    monkeypatch.setattr(ipywidgets.Output, "append_display_data", lambda self, *a, **k: calls.append("append"))
    original = ipywidgets.Output.__setattr__

    def setattr_(self, name, value):
        if name == "outputs":
            calls.append("outputs reset")
        original(self, name, value)

    monkeypatch.setattr(ipywidgets.Output, "__setattr__", setattr_)
    return calls




def figure_size(width: float, height: float) -> tuple[int, int]:
    dpi = matplotlib.rcParams["figure.dpi"]
    return round(width * dpi), round(height * dpi)


def assert_swaps_in_place(view, control, value, size, clears) -> bytes:
    """Move ``control`` to ``value``: the same Image gets new PNG bytes of ``size``, and no Output is touched."""
    image = view.output
    assert isinstance(image, ipywidgets.Image) and view.image is image and image.format == "png"
    widgets = list(_tree(view))
    assert any(w is image for w in widgets)
    assert not [w for w in widgets if isinstance(w, ipywidgets.Output)]
    before = image.value
    assert png_size(before) == size
    control.value = value
    assert view.output is image and any(w is image for w in _tree(view))
    assert image.value != before and png_size(image.value) == size
    assert clears == []
    return image.value


def test_noise_calibration_numbers():
    c = dp.noise_calibration(0.5, 2.0, true_count=100)
    assert c.scale == 4.0 and c.mean_abs_error == 4.0
    assert c.error_95 == pytest.approx(4.0 * math.log(20))
    # densities integrate to about 1 and their ratio never exceeds e^epsilon
    dx = c.x[1] - c.x[0]
    assert np.sum(c.density) * dx == pytest.approx(1.0, abs=0.01)
    assert np.max(np.abs(np.log(c.density / c.neighbour_density))) <= 0.5 + 1e-9
    assert "95% of releases within" in c.describe()
    with pytest.raises(ValueError, match="epsilon"):
        dp.noise_calibration(0.0, 1.0)
    with pytest.raises(ValueError, match="true_count"):
        dp.noise_calibration(1.0, 1.0, true_count=0)


def test_accountant_dashboard_agrees_with_the_accountants():
    q, sigma, steps, delta = 0.01, 1.0, 2000, 1e-5
    board = dp.accountant_dashboard(q, sigma, steps, delta)
    assert board.curve_steps[-1] == steps and board.curve_steps[0] == 1
    assert board.epsilon_rdp == pytest.approx(dp.poisson_gaussian_epsilon(q, sigma, steps, delta), rel=1e-9)
    assert board.epsilon_pld == pytest.approx(dp.poisson_gaussian_epsilon(q, sigma, steps, delta, "pld"), rel=0.015)
    assert board.epsilon_pld < board.epsilon_rdp < board.epsilon_no_sampling
    assert np.all(np.diff(board.curve_rdp) >= 0)
    assert "RDP" in board.describe()
    with pytest.raises(ValueError, match="steps"):
        dp.accountant_dashboard(q, sigma, 0, delta)


def test_views_build_with_a_stable_repr_and_react_to_sliders():
    from labkit.dp.widgets import accountant_widget, noise_calibration_widget

    view = noise_calibration_widget()
    assert repr(view).startswith("Noise-calibration widget")
    assert set(view.controls) == {"epsilon", "sensitivity"}
    slider, text = view.controls["epsilon"], view.status
    before = text.value
    slider.value = 2.0
    assert text.value != before and "epsilon = 2" in text.value
    assert png_size(view.output.value) == figure_size(6.4, 3.0)

    board = accountant_widget()
    assert repr(board).startswith("Accountant dashboard")
    assert set(board.controls) == {"sampling_probability", "noise_multiplier", "steps", "delta"}
    assert "2.6 (RDP)" in board.status.value
    assert "2.39 (PLD)" in board.status.value  # PLD at discretisation 1e-3 (the report's 1e-4 gives 2.38)
    board.controls["steps"].value = 1000
    assert "1,000 steps" in board.status.value and png_size(board.output.value) == figure_size(6.4, 3.0)


def test_noise_calibration_view_swaps_its_image_in_place_and_draws_what_a_fresh_plot_draws(clears):
    from labkit._widgets import full_frame
    from labkit.dp.plots import plot_noise_calibration
    from labkit.dp.widgets import noise_calibration_widget
    from labkit.style import new_axes

    view = noise_calibration_widget()
    first = view.output.value
    moved = assert_swaps_in_place(view, view.controls["epsilon"], 0.2, figure_size(6.4, 3.0), clears)
    assert np.array_equal(decode(moved), full_frame(view.blitter.fig)[..., :3])
    # the moved figure shows the same limits, curves and title as a fresh plot of that setting
    fresh = plot_noise_calibration(new_axes(figsize=(6.4, 3.0))[1], dp.noise_calibration(0.2, 1.0))
    ax = view.blitter.ax
    assert np.allclose(ax.get_xlim(), fresh.get_xlim()) and np.allclose(ax.get_ylim(), fresh.get_ylim())
    assert ax.get_title() == fresh.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [t.get_text() for t in fresh.get_legend().get_texts()]
    view.controls["sensitivity"].value = 3.0
    assert "neighbour: count = 100 + 3" in [t.get_text() for t in ax.get_legend().get_texts()]
    view.controls["sensitivity"].value = 1.0
    view.controls["epsilon"].value = 1.0  # back to the first setting: its saved frame, still a full draw's picture
    assert np.array_equal(decode(view.output.value), full_frame(view.blitter.fig)[..., :3])
    if view.blitter.layouts == 1:  # no wider tick labels needed a new layout on the way: the very same bytes
        assert view.output.value == first
    assert clears == []


def test_accountant_view_swaps_its_image_in_place(clears):
    from labkit._widgets import full_frame
    from labkit.dp.widgets import accountant_widget

    view = accountant_widget(0.01, 1.1, 1000, 1e-5)
    moved = assert_swaps_in_place(view, view.controls["noise_multiplier"], 2.0, figure_size(6.4, 3.0), clears)
    assert np.array_equal(decode(moved), full_frame(view.blitter.fig)[..., :3])
    ax = view.blitter.ax
    board = dp.accountant_dashboard(0.01, 2.0, 1000, 1e-5)
    rdp = next(line for line in ax.lines if line.get_gid() == "rdp")
    assert np.allclose(rdp.get_ydata(), board.curve_rdp) and ax.get_ylim()[1] >= board.curve_rdp.max()
    assert_swaps_in_place(view, view.controls["steps"], 20000, figure_size(6.4, 3.0), clears)
    assert ax.get_xlim()[1] >= 20000


def test_reconstruction_view_swaps_its_image_in_place(clears):
    from labkit.dp.widgets import reconstruction_widget

    view = reconstruction_widget(noise_scale=3.0, num_queries=100, num_people=20, num_seeds=2)
    assert_swaps_in_place(view, view.controls["noise_scale"], 30.0, figure_size(6.4, 3.4), clears)
    assert_swaps_in_place(view, view.controls["num_queries"], 400, figure_size(6.4, 3.4), clears)


def test_canary_view_swaps_its_image_in_place(clears):
    from labkit._widgets import full_frame
    from labkit.dp.widgets import canary_audit_widget

    view = canary_audit_widget(trials=100_000)
    moved = assert_swaps_in_place(view, view.controls["noise_multiplier"], 1.0, figure_size(6.4, 3.0), clears)
    assert np.array_equal(decode(moved), full_frame(view.blitter.fig)[..., :3])
    assert_swaps_in_place(view, view.controls["implementation"], "broken", figure_size(6.4, 3.0), clears)


def test_tuning_explorer_shows_the_grid_in_place_and_says_when_it_moves_a_value():
    from labkit.dp.tuning import load_tuning_grid, tuning_at, tuning_slice
    from labkit.dp.widgets import tuning_explorer

    grid = load_tuning_grid()
    view = tuning_explorer(target_epsilon=1.0, batch_size=256, l2_norm_clip=1.0, epochs=20, grid=grid)
    assert repr(view).startswith("Tuning explorer")
    assert set(view.controls) == {"epsilon", "batch_size", "l2_norm_clip", "epochs", "step_size", "train"}
    assert view.status.value == ""  # every argument was on the grid
    # the compute function returns the grid's values, and the readout prints them
    point, sl, live, _ = view.compute()
    assert point == tuning_at(grid, 1.0, 256, 1.0, 20)
    assert np.array_equal(sl.accuracy, tuning_slice(grid, 1.0, 1.0).accuracy, equal_nan=True)
    assert live == [] and f"{point.accuracy:.3f}" in view.readout.value
    assert f"{point.noise_multiplier:.3f}" in view.readout.value and f"{point.steps} steps" in view.readout.value
    # a move updates the same Image widget in place (no clear-and-append)
    image, before = view.image, view.image.value
    view.controls["batch_size"].value = 1024
    assert view.image is image and view.image.value != before
    assert view.point() == tuning_at(grid, 1.0, 1024, 1.0, 20)
    view.controls["step_size"].value = 0.25
    assert view.point() == tuning_at(grid, 1.0, 1024, 1.0, 20, 0.25) and "best mean" not in view.readout.value
    # values off the grid move to the nearest grid value, and the widget says so
    view.select(batch_size=300, epochs=10)
    assert view.controls["batch_size"].value == 256 and view.controls["epochs"].value == 10
    assert "batch_size = 300 is not in the grid" in view.status.value
    moved = tuning_explorer(target_epsilon=3.0, l2_norm_clip=0.3, grid=grid)
    assert moved.controls["epsilon"].value == 4.0 and moved.controls["l2_norm_clip"].value == 0.1
    assert "target_epsilon = 3 is not in the grid" in moved.status.value
    assert "l2_norm_clip = 0.3 is not in the grid" in moved.status.value
    with pytest.raises(TypeError, match="select"):
        view.select(learning_rate=1.0)


def test_tuning_explorer_trains_the_selected_point_live():
    from labkit.dp.widgets import tuning_explorer

    view = tuning_explorer(target_epsilon=4.0, batch_size=1024, l2_norm_clip=1.0, epochs=5, step_size=1.0)
    point, acc = view.train_point()
    assert (point.target_epsilon, point.batch_size, point.epochs, point.step_size) == (4.0, 1024, 5, 1.0)
    assert 0 <= acc <= 1 and "trained live" in view.status.value
    assert view.compute()[2] == [(1024, acc)]  # the star on this slice
    assert view.progress.value == view.progress.max == 5
    view.controls["epsilon"].value = 1.0
    assert view.compute()[2] == []  # live points belong to their epsilon's slice


def test_tuning_explorer_swaps_its_image_in_place_and_blits_what_a_full_draw_draws(clears):
    from labkit._widgets import full_frame
    from labkit.dp.widgets import tuning_explorer

    view = tuning_explorer(target_epsilon=1.0, batch_size=256, l2_norm_clip=1.0, epochs=20)
    size = figure_size(7.2, 3.4)
    for name, value in (("batch_size", 1024), ("epochs", 10), ("epsilon", 4.0), ("l2_norm_clip", 0.1)):
        moved = assert_swaps_in_place(view, view.controls[name], value, size, clears)
        assert np.array_equal(decode(moved), full_frame(view.blitter.fig)[..., :3]), name


def _star_colour():
    from matplotlib.colors import to_rgb

    from labkit.style import PALETTE

    return np.round(np.array(to_rgb(PALETTE[1])) * 255)


def test_tradeoff_explorer_swaps_its_image_and_draws_the_live_star_above_the_selected_diamond(clears, monkeypatch):
    """Issue 20: a point trained live at the selected epsilon hid under the selected diamond."""
    from labkit._widgets import full_frame
    from labkit.dp import dpsgd
    from labkit.dp.widgets import tradeoff_explorer

    sweep = dpsgd.load_tradeoff_sweep()
    # the button without the training: the live point lands exactly on the selected diamond
    monkeypatch.setattr(dpsgd, "train_tradeoff_point",
                        lambda eps, seed, cfg, progress=None: (1.0, dpsgd.tradeoff_at(sweep, eps).accuracy))
    view = tradeoff_explorer(target_epsilon=2.0, sweep=sweep)
    size = figure_size(6.4, 3.2)
    assert_swaps_in_place(view, view.controls["epsilon"], 1.0, size, clears)
    eps, _, acc = view.train_point()
    assert clears == [] and png_size(view.output.value) == size
    blitter = view.blitter
    ax = blitter.ax
    gids = {a.get_gid(): a for a in list(ax.lines) + list(ax.collections) if a.get_gid()}
    star, diamond = gids["live"], gids["selected"]
    assert star.get_zorder() > diamond.get_zorder()
    assert np.allclose(star.get_edgecolor()[0][:3], 0)  # a black outline: orange on vermillion alone blends in
    order = blitter.draw_order()
    assert order.index(star) > order.index(diamond) and blitter.moving.index(star) > blitter.moving.index(diamond)
    pixels = decode(view.output.value)
    assert np.array_equal(pixels, full_frame(blitter.fig)[..., :3])
    x, y = ax.transData.transform((eps, acc))
    row, col = int(round(pixels.shape[0] - y)), int(round(x))
    centre = pixels[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3).astype(float)
    assert np.all(np.abs(centre - _star_colour()).max(axis=1) <= 2), centre  # the star's orange, not the diamond
    # the check can fail: with the star below the diamond, the diamond covers the star's centre
    star.set_zorder(diamond.get_zorder() - 1)
    hidden = decode(blitter.png())[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3).astype(float)
    assert not np.all(np.abs(hidden - _star_colour()).max(axis=1) <= 2)


def test_tradeoff_explorer_trains_at_a_given_epsilon_without_moving_the_slider(monkeypatch):
    """Issue 20: after Run All the explorer showed epsilon 1.00 because a later cell moved it to train there."""
    from labkit.dp import dpsgd
    from labkit.dp.widgets import tradeoff_explorer

    sweep = dpsgd.load_tradeoff_sweep()
    calls = []

    def fake(eps, seed, cfg, progress=None):
        calls.append(eps)
        return 5.0, 0.5

    monkeypatch.setattr(dpsgd, "train_tradeoff_point", fake)
    view = tradeoff_explorer(target_epsilon=2.0, sweep=sweep)
    before = view.output.value
    assert view.train_point(1.0) == (1.0, 5.0, 0.5) and calls == [1.0]
    assert view.controls["epsilon"].value == 2.0 and "trained live at epsilon = 1.00" in view.status.value
    star = next(a for a in view.blitter.ax.collections if a.get_gid() == "live")
    assert star.get_offsets().tolist() == [[1.0, 0.5]] and view.output.value != before
    assert view.train_point()[0] == 2.0 and calls == [1.0, 2.0]  # the slider's epsilon by default
    for bad in (0.1, 20.0, float("nan")):
        with pytest.raises(ValueError, match="epsilon"):
            view.train_point(bad)
