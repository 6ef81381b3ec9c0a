//! Checks of WIT contracts and built components against the manifest.
