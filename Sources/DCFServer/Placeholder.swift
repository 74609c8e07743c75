// SPDX-License-Identifier: Apache-2.0
// Placeholder so the target builds before its first source file lands; delete it then.
