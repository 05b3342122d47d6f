"""Hashtags in an Instagram account's own first comment, end to end: the sandbox keeps a
quarter of its Instagram posts' hashtags in the account's first comment (with a fan's comment
beside it); a real worker collects them and the links say where each hashtag came from."""

from __future__ import annotations

from hashtag_core.hashtags import hashtags_in_post
from hashtag_core.platforms import Platform
from tests.worker.collection_rig import MakeRig


async def test_first_comment_hashtags_count_as_the_posts(make_rig: MakeRig) -> None:
    rig = await make_rig(posts=400)
    await rig.register()
    await rig.collect()
    worker = await rig.work()
    assert worker.jobs_failed == 0

    served = rig.served.sandbox.data
    in_comment = {
        post.post_id: post.first_comment
        for account in served.accounts
        if account.platform is Platform.INSTAGRAM
        for post in account.posts
        if post.first_comment
    }
    assert in_comment, "the sandbox put no hashtags in a first comment"
    links = await rig.sql(
        "SELECT p.platform_post_id, h.key, l.in_first_comment FROM post_hashtag l "
        "JOIN post p ON p.id = l.post_id JOIN hashtag h ON h.id = l.hashtag_id "
        "WHERE p.platform = 'instagram'"
    )
    by_post: dict[str, dict[str, bool]] = {}
    for post_id, key, flag in links:
        by_post.setdefault(post_id, {})[key] = flag
    for post_id, comment in in_comment.items():
        expected = {key: True for key, _ in hashtags_in_post(comment, "instagram")}
        assert by_post.get(post_id) == expected, post_id
    # Everywhere else hashtags come from the caption, and a fan's comment adds none.
    others = [flags for post_id, flags in by_post.items() if post_id not in in_comment]
    assert others
    assert all(not any(flags.values()) for flags in others)
    assert not any("wow" in flags for flags in by_post.values())
