"""whatworks: evaluation reports in, a reviewed and traceable evidence synthesis out.

The pipeline, one module a stage: collect → read → describe → select → code →
synthesize → report. The CLI (`whatworks.cli`) and the web app (`whatworks.web`)
are thin layers over these functions.
"""

from whatworks.model import Block, Description, Document, Page

__version__ = "0.1.0"
__all__ = ["Block", "Description", "Document", "Page", "__version__"]
