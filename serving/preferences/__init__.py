"""The preference center and consent routes' logic over the region cells (see
:mod:`.service`), their request and answer bodies (:mod:`.schemas`) and the pages
(:mod:`.pages`)."""
