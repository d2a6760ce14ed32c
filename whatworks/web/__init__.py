"""The review workspace: a server-rendered web app where reviewers check, correct and agree on
every machine decision (see docs/workspace.md). Entry points: `whatworks.web.app.create_app`,
`whatworks.web.app.serve`."""
