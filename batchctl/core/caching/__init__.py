"""Prompt caching planned across a batch: pure functions, plain values in and out.

``blocks`` reads a request as the API's cache sees it (tools, system, messages, block by block);
``markers`` the ``cache_control`` markers a user placed, and what the API refuses of them;
``minimums`` the dated table of minimum cacheable lengths; ``trie`` and ``planner`` find, per
group of requests that can share a cache, the longest shared prefix; ``costs`` prices a plan;
``place`` adds its markers to a body; ``realised`` measures what caching saved in results.
The facts and their sources: ../shared/CACHING.md (gathered 2026-12-07).
"""
