"""The placement search (docs/search.md): space, cost, study, runner, confirmation. Nothing is imported
here, so `import gradgroup.search.space` loads only what that module needs."""
