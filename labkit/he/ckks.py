"""CKKS with TenSEAL: parameter rules, the parameter explorer, and SIMD-packed encrypted inference.

CKKS (Cheon, Kim, Kim and Song, "Homomorphic encryption for arithmetic of approximate numbers",
ASIACRYPT 2017) encrypts vectors of N/2 real numbers ("slots") and computes on them with
approximate results. TenSEAL 0.3.18 wraps Microsoft SEAL's implementation.

Three parts:

- :func:`check_params` predicts, without calling SEAL, whether a choice of polynomial modulus
  degree, coefficient modulus bit sizes and scale works, and explains in words why not (the
  SEAL rules: at most 60 bits per prime, a total per degree for 128-bit security from the
  HomomorphicEncryption.org standard, enough primes = 1 mod 2N, scale within the modulus); it
  also estimates precision, usable depth, ciphertext size and time per operation from a
  precomputed sweep (``data/he/ckks_sweep.json``). This is the explorer widget's compute function.
- :func:`make_context` builds a TenSEAL context after that check, so bad parameters raise a
  ValueError that says what is wrong instead of a SEAL error.
- Encrypted logistic-regression inference with SIMD packing (:func:`encrypt_columns`,
  :func:`encrypted_logits`, :func:`infer_packed`), the one-ciphertext-per-sample baseline of
  TenSEAL's tutorial (:func:`infer_per_sample`), and a least-squares polynomial sigmoid
  (:func:`fit_sigmoid_polynomial`).

TenSEAL is imported inside the functions that need it. Introduced in
``08-homomorphic-encryption.ipynb``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from labkit import _validate as v
from labkit.i18n import tr

# Largest total coefficient-modulus bits for 128-bit classical security (SEAL's
# CoeffModulus::MaxBitCount, from the HomomorphicEncryption.org security standard, 2018, table 1).
MAX_COEFF_BITS: dict[int, int] = {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881}
MAX_PRIME_BITS = 60  # SEAL_USER_MOD_BIT_COUNT_MAX
MIN_PRIME_BITS = 2  # SEAL_USER_MOD_BIT_COUNT_MIN

# Encrypted inference in notebook 08: 4096 slots, scale 2**30, four levels (one for the linear
# layer, up to three for the polynomial sigmoid), 218 bits = the 128-bit-security limit for N=8192.
INFERENCE_DEGREE = 8192
INFERENCE_BITS: tuple[int, ...] = (49, 30, 30, 30, 30, 49)
INFERENCE_SCALE_BITS = 30

SWEEP_FILE = "he/ckks_sweep.json"
# The reference parameters the sweep measures at each degree: scale = middle primes.
SWEEP_PARAMS: dict[int, tuple[tuple[int, ...], int]] = {
    4096: ((30, 20, 20, 30), 20),
    8192: ((60, 40, 40, 60), 40),
    16384: ((60, 40, 40, 40, 40, 60), 40),
    32768: ((60, 40, 40, 40, 40, 40, 40, 60), 40),
}
OPERATIONS: tuple[str, ...] = ("encrypt", "add", "multiply_plain", "multiply", "rotate", "decrypt")


# --------------------------------------------------------------------------------------------
# Parameter rules (no TenSEAL needed)
# --------------------------------------------------------------------------------------------


def parse_bit_sizes(text: str | Sequence[int]) -> tuple[int, ...]:
    """Parse ``"60, 40, 40, 60"`` (or a sequence of ints) into a tuple of bit sizes.

    Raises:
        ValueError: naming the entry of a string that is not a whole number.
        TypeError: naming the entry of a sequence that is not an integer.

    Introduced in ``08-homomorphic-encryption.ipynb`` (the CKKS parameter explorer).
    """
    return _parse_bit_sizes(text, "text")


def _parse_bit_sizes(text: Any, name: str) -> tuple[int, ...]:
    if isinstance(text, str):
        parts = [p for p in re.split(r"[\s,;]+", text.strip().strip("[]()")) if p]
        out = []
        for p in parts:
            if not re.fullmatch(r"[+-]?\d+", p):
                raise ValueError(f"{name} (coefficient modulus bit sizes) must be whole numbers separated by commas; got {p!r}")
            out.append(int(p))
        return tuple(out)
    if isinstance(text, (bytes, dict, set)) or not hasattr(text, "__iter__") or getattr(text, "ndim", 1) != 1:
        raise TypeError(f"{name} must be a string such as '60, 40, 40, 60' or a sequence of integers; "
                        f"got {text!r} ({type(text).__name__})")
    return tuple(v.integer(f"{name}[{i}]", b) for i, b in enumerate(text))


@functools.lru_cache(maxsize=512)
def _count_ntt_primes(bits: int, degree: int, needed: int) -> int:
    """How many (up to ``needed``) primes of exactly ``bits`` bits are = 1 mod 2*degree (SEAL's search)."""
    from labkit.he.paillier import is_probable_prime

    step = 2 * degree
    rng = np.random.default_rng(0)  # fixed bases: the answer must not change between calls
    k = ((1 << bits) - 2) // step
    found = 0
    while k > 0 and found < needed:
        candidate = k * step + 1
        if candidate < (1 << (bits - 1)):
            break
        if is_probable_prime(candidate, rounds=12, rng=rng):
            found += 1
        k -= 1
    return found


@dataclass(frozen=True)
class CkksReport:
    """What a CKKS parameter choice allows, and why it fails when it does.

    Attributes:
        poly_modulus_degree, coeff_mod_bit_sizes, scale_bits: the choice examined.
        valid: TenSEAL can build the context and encrypt at this scale.
        problems: sentences explaining each reason it cannot work (empty when valid).
        warnings: sentences on what works but gives wrong or poor results.
        slots: numbers per ciphertext (N/2).
        total_bits, max_bits: coefficient modulus bits used and allowed for 128-bit security.
        depth: multiplications TenSEAL performs before "scale out of bounds" or the end of the
            modulus chain.
        correct_depth: multiplications whose results are right (rescaling divides by a prime of
            the scale's size); equal to ``depth`` when every middle prime matches the scale.
        precision_bits: estimated bits of precision after 0, 1, ..., depth multiplications for
            values of magnitude about 1 (from the measured sweep; empty when invalid).
        integer_bits: bits left for the integer part after ``depth`` multiplications (the
            remaining primes' bits minus the scale): results must stay below 2**integer_bits.
        ciphertext_bytes: a fresh ciphertext's size in memory (2 polynomials x N coefficients x
            one 64-bit word per data prime).
        serialized_bytes: estimated size of ``serialize()`` (TenSEAL compresses with zstd).
        op_ms: estimated milliseconds per operation, scaled from the sweep by the number of
            primes (empty when invalid or when the sweep is not available).
    """

    poly_modulus_degree: Any
    coeff_mod_bit_sizes: tuple[int, ...]
    scale_bits: Any
    valid: bool
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    slots: int = 0
    total_bits: int = 0
    max_bits: int = 0
    depth: int = 0
    correct_depth: int = 0
    precision_bits: tuple[float, ...] = ()
    integer_bits: int = 0
    ciphertext_bytes: int = 0
    serialized_bytes: int = 0
    op_ms: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """A short text report (what the explorer widget prints)."""
        head = tr("N = {degree}, coeff_mod_bit_sizes = {bits}, scale = 2^{scale}").format(
            degree=self.poly_modulus_degree, bits=list(self.coeff_mod_bit_sizes), scale=self.scale_bits)
        if not self.valid:
            return "\n".join([head, tr("Cannot work:")] + [f"  - {p}" for p in self.problems])
        lines = [
            head,
            tr("slots per ciphertext: {slots}").format(slots=self.slots),
            tr("modulus: {total} of {allowed} bits allowed for 128-bit security").format(total=self.total_bits,
                                                                                     allowed=self.max_bits),
            tr("multiplicative depth: {depth} (correct results for {correct})").format(depth=self.depth,
                                                                                     correct=self.correct_depth),
            tr("integer part: |x| < 2^{bits} after {depth} multiplication(s)").format(bits=self.integer_bits,
                                                                                    depth=self.depth),
        ]
        if self.precision_bits:
            prec = ", ".join(f"{p:.0f}" for p in self.precision_bits)
            lines.append(tr("precision (bits) after 0..{last} multiplications: {precision}").format(
                last=len(self.precision_bits) - 1, precision=prec))
        lines.append(tr("fresh ciphertext: {memory:.0f} KiB in memory, ~{serialized:.0f} KiB serialized").format(
            memory=self.ciphertext_bytes / 1024, serialized=self.serialized_bytes / 1024))
        if self.op_ms:
            lines.append(tr("time per operation (ms, estimated): {times}").format(
                times=", ".join(f"{k} {ms:.2g}" for k, ms in self.op_ms.items())))
        lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)


def check_params(
    poly_modulus_degree: Any, coeff_mod_bit_sizes: str | Sequence[int], scale_bits: Any, sweep: dict | None = None
) -> CkksReport:
    """Predict whether CKKS parameters work in TenSEAL/SEAL, and what they allow; never raises.

    The rules, each turned into a sentence when broken:

    1. N is a power of two from 1024 to 32768 (slots = N/2).
    2. At least two primes: the last one is the "special" prime that key switching
       (relinearisation, rotations) needs; the others hold the data.
    3. Each prime has 2 to 60 bits (SEAL's limit).
    4. The total bits stay within the 128-bit-security limit for N: 4096: 109, 8192: 218,
       16384: 438, 32768: 881 (a larger modulus makes the lattice problem easier).
    5. SEAL must find enough distinct primes of each size that are = 1 mod 2N (small primes
       with a large N run out).
    6. A fresh encoding needs scale + 1 bits below the data primes' total ("scale out of bounds").
    7. Each multiplication doubles the scale; TenSEAL then rescales (divides by the last data
       prime) and relabels the result with the original scale, so a prime that differs from the
       scale silently gives wrong results; when the doubled scale no longer fits, the next
       multiplication fails.

    Args:
        poly_modulus_degree: N.
        coeff_mod_bit_sizes: prime sizes in bits, as a list or a string such as ``"60, 40, 40, 60"``.
        scale_bits: log2 of the scale.
        sweep: the measured sweep (``data/he/ckks_sweep.json``) used for the precision and time
            estimates; without it those fields stay empty (see :func:`load_sweep`).

    Returns:
        A :class:`CkksReport`.

    Introduced in ``08-homomorphic-encryption.ipynb`` (the CKKS parameter explorer).
    """
    problems: list[str] = []
    if sweep is not None and not (isinstance(sweep, dict) and isinstance(sweep.get("degrees", {}), dict)):
        return CkksReport(poly_modulus_degree, (), scale_bits, False,
                          (f"sweep must be None or the dict that load_sweep() returns; got {type(sweep).__name__}.",))
    try:
        bits = _parse_bit_sizes(coeff_mod_bit_sizes, "coeff_mod_bit_sizes")
    except (TypeError, ValueError) as err:
        return CkksReport(poly_modulus_degree, (), scale_bits, False, (f"{err}.",))
    try:
        n = int(v.choice("poly_modulus_degree (N)", poly_modulus_degree, sorted(MAX_COEFF_BITS)))
    except (TypeError, ValueError) as err:
        return CkksReport(poly_modulus_degree, bits, scale_bits, False, (f"{err}.",))
    try:  # the scale is 2^scale_bits
        s = v.integer("scale_bits", scale_bits, minimum=1, maximum=120)
    except (TypeError, ValueError) as err:
        return CkksReport(n, bits, scale_bits, False, (f"{err}.",))
    max_bits = MAX_COEFF_BITS[n]
    total = sum(bits)
    base = dict(slots=n // 2, total_bits=total, max_bits=max_bits)
    if len(bits) < 2:
        problems.append(tr(
            "you gave {count} prime(s); TenSEAL needs at least 2: the last is the special prime used only for "
            "key switching (relinearisation after a multiplication, rotations), the others hold the data."
        ).format(count=len(bits)))
    bad = [b for b in bits if not MIN_PRIME_BITS <= b <= MAX_PRIME_BITS]
    if bad:
        problems.append(tr("each prime must have {low} to {high} bits (SEAL's limit); {bad} do not.").format(
            low=MIN_PRIME_BITS, high=MAX_PRIME_BITS, bad=bad))
    if total > max_bits:
        problems.append(tr(
            "the primes total {total} bits but N = {degree} allows at most {allowed} for 128-bit security; "
            "use fewer or smaller primes, or a larger N (2N gives about twice the bits)."
        ).format(total=total, degree=n, allowed=max_bits))
    if not bad and not problems:
        for b in sorted(set(bits)):
            need = bits.count(b)
            if _count_ntt_primes(b, n, need) < need:
                problems.append(tr(
                    "SEAL cannot find {need} distinct {bits}-bit primes equal to 1 mod 2N = {two_n}; "
                    "with N = {degree} use larger primes (about {suggested} bits or more)."
                ).format(need=need, bits=b, two_n=2 * n, degree=n, suggested=math.ceil(math.log2(2 * n)) + 6))
    if problems:
        return CkksReport(n, bits, s, False, tuple(problems), **base)
    data = list(bits[:-1])
    if s + 1 >= sum(data):
        problems.append(tr(
            "the scale 2^{scale} does not fit: encoding needs scale + 1 = {needed} bits below the data primes' total "
            "{total} bits (all primes but the last); lower the scale or add data primes."
        ).format(scale=s, needed=s + 1, total=sum(data)))
        return CkksReport(n, bits, s, False, tuple(problems), **base)
    # Depth: TenSEAL multiplies (scale 2s), rescales by the last data prime, relabels the scale as s.
    depth, level = 0, list(data)
    while len(level) > 1 and 2 * s + 1 < sum(level):
        level.pop()
        depth += 1
    correct = 0
    dropped = data[::-1][:depth]  # primes removed by the successive rescales
    for b in dropped:
        if b != s:
            break
        correct += 1
    warnings: list[str] = []
    mismatched = [b for b in dropped if b != s]
    if mismatched:
        warnings.append(tr(
            "the middle primes {mismatched} differ from the scale 2^{scale}: rescaling divides by ~2^{first}, not "
            "2^{scale}, but TenSEAL keeps labelling the result with scale 2^{scale}, so results are wrong from "
            "multiplication {wrong_from} on; make the middle primes {scale} bits."
        ).format(mismatched=mismatched, scale=s, first=mismatched[0], wrong_from=correct + 1))
    last_level = data[: len(data) - depth]  # the primes left after the last multiplication
    integer_bits = sum(last_level) - s
    if integer_bits < 10:
        warnings.append(tr(
            "only {bits} bits are left for the integer part after {depth} multiplication(s) (primes "
            "{primes} minus the scale {scale}): larger results wrap around; make the first prime bigger."
        ).format(bits=integer_bits, depth=depth, primes=last_level, scale=s))
    if bits[-1] < max(data):
        warnings.append(tr(
            "the special (last) prime, {last} bits, is smaller than the largest data prime ({largest} bits); "
            "SEAL advises it be at least as large, or key switching adds noise."
        ).format(last=bits[-1], largest=max(data)))
    precision = _precision_estimate(n, s, depth, sweep)
    if precision and precision[0] < 10:
        warnings.append(tr("precision is only about {bits:.0f} bits after encryption: raise the scale.").format(
            bits=precision[0]))
    data_len = len(data)
    ct_bytes = 2 * n * data_len * 8
    ser_bytes = int(2 * n * sum(b + 8 for b in data) / 8)
    return CkksReport(
        n, bits, s, True, (), tuple(warnings), depth=depth, correct_depth=correct,
        precision_bits=precision, integer_bits=integer_bits, ciphertext_bytes=ct_bytes,
        serialized_bytes=ser_bytes, op_ms=_time_estimate(n, data_len, sweep), **base,
    )


def _precision_estimate(n: int, s: int, depth: int, sweep: dict | None) -> tuple[float, ...]:
    """Bits of precision for |x| ~ 1 after 0..depth multiplications: scale bits - measured noise bits."""
    if not sweep or str(n) not in sweep["degrees"]:  # N = 1024, 2048 are not in the sweep
        return ()
    noise = sweep["degrees"][str(n)]["noise_bits"]  # after 0, 1, 2, ... multiplications
    out = []
    for d in range(depth + 1):
        if d < len(noise):
            nb = noise[d]
        else:  # extrapolate linearly from the last two measurements
            nb = noise[-1] + (noise[-1] - noise[-2]) * (d - len(noise) + 1) if len(noise) > 1 else noise[-1]
        out.append(round(max(0.0, s - nb), 1))
    return tuple(out)


def _time_estimate(n: int, data_primes: int, sweep: dict | None) -> dict[str, float]:
    """Milliseconds per operation, scaled linearly in the number of data primes from the sweep."""
    if not sweep or str(n) not in sweep["degrees"]:
        return {}
    entry = sweep["degrees"][str(n)]
    ratio = data_primes / entry["data_primes"]
    return {op: round(ms * ratio, 3) for op, ms in entry["op_ms"].items()}


def load_sweep() -> dict:
    """The measured CKKS sweep (``data/he/ckks_sweep.json``, verified against the manifest)."""
    from labkit.data import load_json

    return load_json(SWEEP_FILE)


# --------------------------------------------------------------------------------------------
# TenSEAL contexts and measurements
# --------------------------------------------------------------------------------------------


def make_context(
    poly_modulus_degree: int = INFERENCE_DEGREE,
    coeff_mod_bit_sizes: Sequence[int] = INFERENCE_BITS,
    scale_bits: int = INFERENCE_SCALE_BITS,
    *,
    galois_keys: bool = False,
):
    """A TenSEAL CKKS context with ``global_scale = 2**scale_bits``, after :func:`check_params`.

    Args:
        poly_modulus_degree, coeff_mod_bit_sizes, scale_bits: the CKKS parameters.
        galois_keys: also generate the rotation keys (needed by ``.sum()``, ``.dot()``,
            ``.matmul()``; they are large: about 30 MB at N = 8192).

    Raises:
        ValueError: with :func:`check_params`'s explanation when the parameters cannot work.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    report = check_params(poly_modulus_degree, coeff_mod_bit_sizes, scale_bits)
    if not report.valid:
        raise ValueError("CKKS parameters cannot work: " + " ".join(report.problems))
    import tenseal as ts

    ctx = ts.context(ts.SCHEME_TYPE.CKKS, int(poly_modulus_degree), coeff_mod_bit_sizes=list(report.coeff_mod_bit_sizes))
    ctx.global_scale = 2.0**scale_bits
    if galois_keys:
        ctx.generate_galois_keys()
    return ctx


def precision_bits(expected: np.ndarray, decrypted: Sequence[float]) -> float:
    """-log2 of the largest absolute error: the bits of precision a CKKS result kept.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    expected = v.finite_array("expected", expected, ndim=1)
    decrypted = v.finite_array("decrypted", decrypted, ndim=1)
    if len(decrypted) < len(expected):
        raise ValueError(f"decrypted must hold at least as many values as expected ({len(expected)}); got {len(decrypted)}")
    err = float(np.max(np.abs(decrypted[: len(expected)] - expected)))
    return float("inf") if err == 0 else -math.log2(err)


def measure_noise_bits(ctx, scale_bits: int, depth: int, rng: np.random.Generator | int | None) -> list[float]:
    """Noise in bits (relative to the scale) after 0..depth squarings of a vector in [-1, 1].

    ``rng`` (a generator, a seed, or ``None`` for OS entropy) draws the test vector only; the
    encryption randomness is SEAL's own, from OS entropy.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    import tenseal as ts

    _check_ctx(ctx)
    scale_bits = v.integer("scale_bits", scale_bits, minimum=1, maximum=120)
    depth = v.count("depth", depth, minimum=0, maximum=MAX_DEPTH)
    x = v.generator(rng).uniform(-1.0, 1.0, size=256)
    enc = ts.ckks_vector(ctx, x.tolist())
    ref = x.copy()
    out = [scale_bits - precision_bits(ref, enc.decrypt())]
    for i in range(depth):
        try:
            enc = enc * enc
        except ValueError as err:
            raise ValueError(f"depth={depth} multiplications exceed what ctx's coefficient modulus allows "
                             f"(the {i + 1}th failed: {err})") from None
        ref = ref * ref
        out.append(scale_bits - precision_bits(ref, enc.decrypt()))
    return out


# --------------------------------------------------------------------------------------------
# Encrypted logistic-regression inference
# --------------------------------------------------------------------------------------------


MAX_DEPTH = 60
"""Most multiplications :func:`measure_noise_bits` attempts (no SEAL modulus allows more)."""
MAX_SIGMOID_BOUND = 1000.0
"""Largest fitting interval of :func:`fit_sigmoid_polynomial` (the sigmoid is flat long before)."""


def fit_sigmoid_polynomial(degree: int = 3, bound: float = 16.0, num: int = 2001) -> np.ndarray:
    """Least-squares polynomial approximation of the sigmoid on [-bound, bound].

    Returns coefficients from the constant term up (``np.polynomial.polynomial`` order, and the
    order TenSEAL's ``polyval`` expects). Outside [-bound, bound] the polynomial diverges, so
    choose ``bound`` to cover the logits the model produces.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    degree = v.integer("degree", degree, minimum=1, maximum=15)
    bound = v.real("bound", bound, low=0.0, high=MAX_SIGMOID_BOUND, low_open=True)
    num = v.count("num", num, minimum=degree + 1, maximum=1_000_000)
    z = np.linspace(-bound, bound, num)
    return np.polynomial.polynomial.polyfit(z, 1.0 / (1.0 + np.exp(-z)), degree)


def slot_count(ctx) -> int:
    """Slots per ciphertext (N/2) of a TenSEAL CKKS context.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    _check_ctx(ctx)
    return ctx.seal_context().data.first_context_data().parms().poly_modulus_degree() // 2


def _check_ctx(ctx: Any) -> None:
    """A TypeError naming ``ctx`` unless it is a TenSEAL context."""
    import tenseal as ts

    if not isinstance(ctx, ts.Context):
        raise TypeError(f"ctx must be a tenseal.Context (see make_context); got {type(ctx).__name__}")


def encrypt_columns(ctx, x: np.ndarray) -> list:
    """SIMD packing, one ciphertext per feature: ciphertext j holds feature j of every sample.

    Up to N/2 samples share each ciphertext, so a batch of 143 samples with 30 features costs
    30 encryptions instead of 143.

    Raises:
        ValueError: if ``x`` is not 2-D (samples x features), holds NaN or infinity, or has more
            rows than the context has slots.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    import tenseal as ts

    x = v.finite_array("x", x, ndim=2)
    if x.shape[0] > slot_count(ctx):
        raise ValueError(f"x has {x.shape[0]} rows but a ciphertext holds at most {slot_count(ctx)}; split the batch")
    return [ts.ckks_vector(ctx, x[:, j].tolist()) for j in range(x.shape[1])]


def encrypted_logits(columns: Sequence, weights: np.ndarray, bias: float):
    """The logits w.x + b of every packed sample: sum_j w_j * column_j + b (one level, no rotation).

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    import tenseal as ts

    if isinstance(columns, (str, bytes)) or not hasattr(columns, "__len__") or len(columns) == 0 or \
            not all(isinstance(c, ts.CKKSVector) for c in columns):
        raise TypeError(f"columns must be a non-empty list of CKKS vectors (see encrypt_columns); got {type(columns).__name__}")
    weights = v.finite_array("weights", weights, ndim=1)
    bias = v.real("bias", bias)
    if len(weights) != len(columns):
        raise ValueError(f"weights must have one entry per encrypted column ({len(columns)}); got {len(weights)}")
    total = columns[0] * float(weights[0])
    for col, w in zip(columns[1:], weights[1:]):
        total += col * float(w)
    try:
        return total + bias
    except ValueError as err:  # SEAL: "encoded value is too large"
        raise ValueError(f"bias={bias!r} is too large for the context's scale and modulus ({err})") from None


@dataclass(frozen=True)
class InferenceResult:
    """Decrypted outputs of encrypted inference: logits and polynomial-sigmoid probabilities.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """

    logits: np.ndarray
    probabilities: np.ndarray

    @property
    def predictions(self) -> np.ndarray:
        return (self.probabilities > 0.5).astype(np.int64)


def _check_weights(weights: Any, x: np.ndarray) -> np.ndarray:
    w = v.finite_array("weights", weights, ndim=1)
    if len(w) != x.shape[1]:
        raise ValueError(f"weights must have one entry per feature of x ({x.shape[1]}); got {len(w)}")
    return w


def infer_packed(ctx, x: np.ndarray, weights: np.ndarray, bias: float, sigmoid_coef: np.ndarray) -> InferenceResult:
    """Encrypted logistic-regression inference with SIMD packing (feature columns), end to end.

    The client encrypts the columns (:func:`encrypt_columns`, in batches of N/2 samples); the
    server computes the logits and the polynomial sigmoid on ciphertexts; the client decrypts.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    _check_ctx(ctx)
    x = v.finite_array("x", x, ndim=2)
    _check_weights(weights, x)
    coef = [float(c) for c in v.finite_array("sigmoid_coef", sigmoid_coef, ndim=1)]
    slots = slot_count(ctx)
    logits, probs = [], []
    for start in range(0, len(x), slots):
        batch = x[start:start + slots]
        enc_z = encrypted_logits(encrypt_columns(ctx, batch), weights, bias)
        enc_p = enc_z.polyval(coef)
        logits.append(np.asarray(enc_z.decrypt())[: len(batch)])
        probs.append(np.asarray(enc_p.decrypt())[: len(batch)])
    return InferenceResult(np.concatenate(logits), np.concatenate(probs))


def infer_per_sample(ctx, x: np.ndarray, weights: np.ndarray, bias: float, sigmoid_coef: np.ndarray) -> InferenceResult:
    """The baseline of TenSEAL's logistic-regression tutorial: one ciphertext per sample.

    Each sample's feature vector is encrypted alone, ``.dot`` with the weights (rotations, so
    ``ctx`` needs Galois keys), then the polynomial sigmoid; one result per ciphertext.

    Introduced in ``08-homomorphic-encryption.ipynb``.
    """
    import tenseal as ts

    _check_ctx(ctx)
    x = v.finite_array("x", x, ndim=2)
    w = _check_weights(weights, x).tolist()
    bias = v.real("bias", bias)
    coef = [float(c) for c in v.finite_array("sigmoid_coef", sigmoid_coef, ndim=1)]
    logits, probs = [], []
    for row in x:
        try:
            enc_z = ts.ckks_vector(ctx, row.tolist()).dot(w) + bias
        except ValueError as err:  # SEAL: "encoded value is too large"
            raise ValueError(f"bias={bias!r} or x is too large for the context's scale and modulus ({err})") from None
        logits.append(enc_z.decrypt()[0])
        probs.append(enc_z.polyval(coef).decrypt()[0])
    return InferenceResult(np.array(logits), np.array(probs))
