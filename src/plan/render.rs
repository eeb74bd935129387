//! Plan renderers: human text, Markdown for pull requests, JSON for machines.
