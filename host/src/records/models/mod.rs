//! Typed record families (in progress).
