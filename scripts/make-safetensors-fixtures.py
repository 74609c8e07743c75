#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write safetensors fixture files with the safetensors package, or check a file written by dcf.

    make-safetensors-fixtures.py write DIRECTORY
        Writes dtypes.safetensors (one tensor per supported dtype, with metadata),
        shapes.safetensors (scalar, empty and 3-D tensors, no metadata) and
        expected.json (every file's metadata, and every tensor's dtype, shape and values).

    make-safetensors-fixtures.py verify FILE EXPECTED_JSON
        Loads FILE with the safetensors package and compares it with one file entry of the
        same JSON form: {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}.
        When FILE has at most one metadata key, also checks that the package serializes the
        same tensors to the same bytes (with more keys the package orders them by hash).

Exit status: 0 on success, 1 on a mismatch, 2 on a usage error, 3 if numpy or a
safetensors version with TensorSpec (0.8 or later) is missing: run scripts/install-deps.sh.
"""
import json
import os
import sys

try:
    import numpy as np
    import safetensors
    import safetensors.numpy
    from safetensors import TensorSpec
except ImportError as error:
    sys.stderr.write(
        f"make-safetensors-fixtures: {error}; numpy and safetensors 0.8 or later are required, "
        "run scripts/install-deps.sh\n"
    )
    sys.exit(3)

# safetensors dtype -> (numpy dtype of the stored bits, TensorSpec dtype name)
DTYPES = {
    "F64": (np.dtype("<f8"), "float64"),
    "F32": (np.dtype("<f4"), "float32"),
    "F16": (np.dtype("<f2"), "float16"),
    "BF16": (np.dtype("<u2"), "bfloat16"),
    "I64": (np.dtype("<i8"), "int64"),
    "I32": (np.dtype("<i4"), "int32"),
    "I16": (np.dtype("<i2"), "int16"),
    "I8": (np.dtype("i1"), "int8"),
    "U8": (np.dtype("u1"), "uint8"),
    "BOOL": (np.dtype("?"), "bool"),
}

# Every value is exactly representable in its dtype, so comparisons can be exact.
FILES = {
    "dtypes.safetensors": {
        "metadata": {"format": "pt", "producer": "make-safetensors-fixtures"},
        "tensors": {
            "double": ("F64", [2, 2], [1.5, -2.25, 1e300, 0.1]),
            "float": ("F32", [3], [0.1, -3.5, 65536.25]),
            "half": ("F16", [2, 3], [0.0, -1.0, 0.5, 65504.0, 2.0**-14, 2.0**-24]),
            "brain": ("BF16", [4], [1.0, -2.0, 3.140625, 2.0**100]),
            "long": ("I64", [3], [-(2**63), 2**63 - 1, 42]),
            "int": ("I32", [2], [-(2**31), 2**31 - 1]),
            "short": ("I16", [2], [-32768, 32767]),
            "byte": ("I8", [3], [-128, 127, 0]),
            "ubyte": ("U8", [3], [0, 255, 7]),
            "flag": ("BOOL", [3], [1, 0, 1]),
        },
    },
    "shapes.safetensors": {
        "metadata": {},
        "tensors": {
            "scalar": ("F32", [], [2.5]),
            "empty": ("F32", [0], []),
            "empty.rows": ("I64", [2, 0], []),
            "cube": ("F32", [2, 3, 4], [i * 0.25 for i in range(24)]),
        },
    },
}


def stored_array(dtype, values):
    """Return the values as the numpy array of the bits safetensors stores for dtype."""
    bits_dtype, _ = DTYPES[dtype]
    if dtype == "BF16":
        # bfloat16 is the upper half of float32; the values are exact, so truncation is exact.
        return (np.array(values, dtype="<f4").view("<u4") >> 16).astype("<u2")
    return np.array(values, dtype=bits_dtype)


def values_of(dtype, raw):
    """Return the flat list of values stored in raw bytes of dtype."""
    bits_dtype, _ = DTYPES[dtype]
    array = np.frombuffer(bytes(raw), dtype=bits_dtype)
    if dtype == "BF16":
        array = (array.astype("<u4") << 16).view("<f4")
    if dtype in ("F64", "F32", "F16", "BF16"):
        return [float(v) for v in array]
    return [int(v) for v in array]


def write(directory):
    os.makedirs(directory, exist_ok=True)
    expected = {}
    for file_name, content in FILES.items():
        keep_alive = []
        specs = {}
        for name, (dtype, shape, values) in content["tensors"].items():
            array = stored_array(dtype, values)
            keep_alive.append(array)
            specs[name] = TensorSpec(
                dtype=DTYPES[dtype][1], shape=shape, data_ptr=array.ctypes.data, data_len=array.nbytes
            )
        data = safetensors.serialize(specs, metadata=content["metadata"] or None)
        with open(os.path.join(directory, file_name), "wb") as output:
            output.write(bytes(data))
        expected[file_name] = {
            "metadata": content["metadata"],
            "tensors": {
                name: {"dtype": dtype, "shape": shape, "values": values_of(dtype, stored_array(dtype, values))}
                for name, (dtype, shape, values) in content["tensors"].items()
            },
        }
    with open(os.path.join(directory, "expected.json"), "w") as output:
        json.dump(expected, output, indent=1)


def compare_tensors(label, found, expected, problems):
    """Append to problems every difference between found and expected {name: (dtype, shape, values)}."""
    if sorted(found) != sorted(expected):
        problems.append(f"{label}: tensor names {sorted(found)}, expected {sorted(expected)}")
        return
    for name, (dtype, shape, values) in found.items():
        want = expected[name]
        if dtype != want["dtype"]:
            problems.append(f"{label}: tensor {name!r} has dtype {dtype}, expected {want['dtype']}")
        if list(shape) != want["shape"]:
            problems.append(f"{label}: tensor {name!r} has shape {list(shape)}, expected {want['shape']}")
        if values != want["values"]:
            problems.append(f"{label}: tensor {name!r} has values {values}, expected {want['values']}")


def verify(path, expected_path):
    with open(expected_path) as source:
        expected = json.load(source)
    with open(path, "rb") as source:
        data = source.read()
    problems = []

    found = {
        name: (tensor["dtype"], tensor["shape"], values_of(tensor["dtype"], tensor["data"]))
        for name, tensor in safetensors.deserialize(data)
    }
    compare_tensors("deserialize", found, expected["tensors"], problems)

    with safetensors.safe_open(path, framework="numpy") as handle:
        metadata = handle.metadata() or {}
    if metadata != expected["metadata"]:
        problems.append(f"metadata is {metadata}, expected {expected['metadata']}")

    # numpy has no bfloat16, so load_file can only read files without BF16 tensors.
    if all(t["dtype"] != "BF16" for t in expected["tensors"].values()):
        loaded = safetensors.numpy.load_file(path)
        as_numpy = {
            name: (dtype_name(array), array.shape, array.reshape(-1).tolist()) for name, array in loaded.items()
        }
        compare_tensors("numpy.load_file", as_numpy, expected["tensors"], problems)

    if len(metadata) <= 1:
        reserialized = bytes(reserialize(data, metadata))
        if reserialized != data:
            differing = (index for index, (ours, theirs) in enumerate(zip(reserialized, data)) if ours != theirs)
            offset = next(differing, min(len(data), len(reserialized)))
            problems.append(
                f"the safetensors package serializes the same tensors to {len(reserialized)} bytes "
                f"that differ from the file ({len(data)} bytes) at byte {offset}"
            )

    for problem in problems:
        sys.stderr.write(f"make-safetensors-fixtures: {path}: {problem}\n")
    return 1 if problems else 0


def dtype_name(array):
    for name, (bits_dtype, _) in DTYPES.items():
        if name != "BF16" and array.dtype == bits_dtype:
            return name
    return str(array.dtype)


def reserialize(data, metadata):
    keep_alive = []
    specs = {}
    for name, tensor in safetensors.deserialize(data):
        buffer = np.frombuffer(bytes(tensor["data"]), dtype="u1").copy()
        keep_alive.append(buffer)
        specs[name] = TensorSpec(
            dtype=DTYPES[tensor["dtype"]][1],
            shape=tensor["shape"],
            data_ptr=buffer.ctypes.data,
            data_len=buffer.nbytes,
        )
    return safetensors.serialize(specs, metadata=metadata or None)


def main(arguments):
    if len(arguments) == 2 and arguments[0] == "write":
        write(arguments[1])
        return 0
    if len(arguments) == 3 and arguments[0] == "verify":
        return verify(arguments[1], arguments[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
