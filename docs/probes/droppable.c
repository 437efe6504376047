// MAP_DROPPABLE and MADV_FREE pages under MADV_PAGEOUT (observed on 6.18.44, docs/linux-facts.md):
// lazy-free pages are discarded when clean; droppable ones always; droppable read faults
// on a kernel without the zero page give clean pages that smaps counts as LazyFree.
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
void show(const char *w,char*a){char cmd[300]; printf("%s: ",w); fflush(stdout); sprintf(cmd,"grep -A17 '^%lx' /proc/%d/smaps | grep -E '^Rss|LazyFree' | tr '\\n' ' '; echo",(unsigned long)a,getpid()); system(cmd);}
int main(){
 char *a=mmap(0,4*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); memset(a,1,4*4096);
 madvise(a,4*4096,MADV_FREE); madvise(a,4096,MADV_COLD); show("free",a); madvise(a,4*4096,MADV_PAGEOUT); show("free+pageout",a);
 char *d=mmap(0,4*4096,PROT_READ|PROT_WRITE,MAP_DROPPABLE|MAP_ANONYMOUS,-1,0); memset(d,1,2*4096); volatile char c=d[3*4096]; (void)c; show("drop rw",d);
 madvise(d,4*4096,MADV_PAGEOUT); show("drop rw pageout",d);
 char *r=mmap(0,4*4096,PROT_READ,MAP_DROPPABLE|MAP_ANONYMOUS,-1,0); c=r[0]; c=r[4096]; show("drop ro",r);
 madvise(r,4096,MADV_PAGEOUT); show("drop ro pageout",r);
}
