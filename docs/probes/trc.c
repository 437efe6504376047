#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static sigjmp_buf jb; static void h(int s){ siglongjmp(jb,s);}
int main(){ setvbuf(stdout,0,_IONBF,0); int fd=open("/tmp/probe/trc.dat",O_RDWR|O_CREAT|O_TRUNC,0600); char b[4096]={1}; for(int i=0;i<4;i++) pwrite(fd,b,4096,i*4096);
 char*a=mmap(0,16384,PROT_READ|PROT_WRITE,MAP_PRIVATE,fd,0); a[3*4096]=7; a[0]=5;
 ftruncate(fd,5000); signal(SIGBUS,h); int s=sigsetjmp(jb,1);
 if(!s){ printf("page3=%d\n",a[3*4096]); } else printf("page3: signal %d\n",s);
 printf("page0=%d\n",a[0]); return 0;}
